/// SRTPCore: see ARCHITECTURE.md.
public enum SRTPCoreModule {}
