/// SDPCore: see ARCHITECTURE.md.
public enum SDPCoreModule {}
