#!/usr/bin/env python3
"""Fails when a public declaration of VertoPhone or WebitelCTI names a SwiftNIO type: the engine's
API speaks Duration, host/port values and its own types (docs/architecture.md, "The public API").
Reads the symbol graphs that `scripts/docs` extracts (.build/*/extracted-symbols/*/<Module>/)."""
import glob, json, sys

NIO_MODULES = ("7NIOCore", "8NIOPosix", "6NIOSSL", "20NIOConcurrencyHelpers", "11NIOWebSocket", "7NIOHTTP1", "8NIOEmbedded")
found, files = [], 0
for module in ("VertoPhone", "WebitelCTI"):
    for path in glob.glob(f".build/*/extracted-symbols/*/{module}/*.symbols.json"):
        files += 1
        with open(path) as f:
            graph = json.load(f)
        for sym in graph.get("symbols", []):
            if sym.get("accessLevel") not in ("public", "open"):
                continue
            for frag in sym.get("declarationFragments", []):
                ident = frag.get("preciseIdentifier", "")
                if frag.get("kind") == "typeIdentifier" and any(ident.startswith("s:" + m) for m in NIO_MODULES):
                    found.append(f"{module}: {'.'.join(sym['pathComponents'])} uses {frag['spelling']}")
if files == 0:
    sys.exit("check-public-api: no symbol graphs found (run scripts/docs first)")
for line in sorted(set(found)):
    print(line, file=sys.stderr)
if found:
    sys.exit(f"check-public-api: {len(set(found))} public declarations name SwiftNIO types")
print(f"check-public-api: no SwiftNIO type in the public API ({files} symbol graphs)")
