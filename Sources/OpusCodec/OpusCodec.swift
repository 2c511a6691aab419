/// OpusCodec: see ARCHITECTURE.md.
public enum OpusCodecModule {}
