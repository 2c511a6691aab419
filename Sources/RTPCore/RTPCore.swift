/// RTPCore: see ARCHITECTURE.md.
public enum RTPCoreModule {}
