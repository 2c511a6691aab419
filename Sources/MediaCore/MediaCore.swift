/// MediaCore: see ARCHITECTURE.md.
public enum MediaCoreModule {}
