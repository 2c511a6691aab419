/// ICECore: see ARCHITECTURE.md.
public enum ICECoreModule {}
