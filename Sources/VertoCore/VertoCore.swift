/// VertoCore: see ARCHITECTURE.md.
public enum VertoCoreModule {}
