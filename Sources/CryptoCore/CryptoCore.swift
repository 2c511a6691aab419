/// CryptoCore: see ARCHITECTURE.md.
public enum CryptoCoreModule {}
