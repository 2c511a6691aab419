int copenssl_placeholder(void) { return 0; }
