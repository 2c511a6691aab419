print("vertophone")
