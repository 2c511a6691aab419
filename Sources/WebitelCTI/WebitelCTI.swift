/// WebitelCTI: the provider layer (see issue 6).
public enum WebitelCTIModule {}
