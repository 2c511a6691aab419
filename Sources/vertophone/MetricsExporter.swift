import CMalloc
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// `serve --metrics HOST:PORT`: an HTTP listener that answers `GET /metrics` with the registry in
/// the Prometheus text exposition format (version 0.0.4); anything else gets 404.
enum MetricsExporter {
    static func start(host: String, port: Int, registry: PrometheusCollectorRegistry,
                      group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> Channel {
        let heap = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "vertophone", subsystem: "heap", metricName: "in_use", unitName: "bytes",
            helpText: "Bytes the C allocator has handed out and not had back (all arenas)"))
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScrapeHandler(registry: registry, heap: heap))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Parses `HOST:PORT` (`[v6]:PORT` for IPv6).
    static func parse(_ address: String) -> (host: String, port: Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65_535).contains(port) else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}

private final class ScrapeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private let heap: Gauge
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry, heap: Gauge) {
        self.registry = registry
        self.heap = heap
    }

    /// Bytes the C allocator has handed out and not had back (all arenas, mmapped blocks
    /// included): the memory the process uses now, unlike RSS, which keeps its high-water mark.
    static func heapInUse() -> Double {
        Double(cmalloc_bytes_in_use())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            let found = h.method == .GET && (h.uri == "/metrics" || h.uri.hasPrefix("/metrics?"))
            if found { heap.set(Self.heapInUse()) }
            let body = found ? registry.emitToBuffer() : Array("not found: GET /metrics\n".utf8)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain")
            headers.add(name: "Content-Length", value: String(body.count))
            if !h.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: found ? .ok : .notFound, headers: headers))),
                          promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let keepAlive = h.isKeepAlive, channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}
