import CoreSupport
import CryptoCore
import MediaNIO
import NIOCore
import PeerCore

/// Binds a UDP socket on the engine's event loop and puts a `PeerSession` on it.
enum MediaFactory {
    static func makePeer(on loop: EventLoop, host: String, configuration: PeerSessionConfiguration,
                         advertise: [String]) -> EventLoopFuture<DatagramDriver<PeerSession>> {
        return DatagramDriver<PeerSession>.bind(host: host, on: loop) { local in
            var addresses: [SocketAddress] = []
            let port = local.port ?? 0
            if host == "0.0.0.0" {
                for ip in advertise { if let a = try? SocketAddress(ipAddress: ip, port: port) { addresses.append(a) } }
            } else {
                addresses = [local]
            }
            return PeerSession(configuration: configuration, hostAddresses: addresses, random: .system, now: loop.now)
        }.flatMap { driver in
            // With a STUN server, wait (bounded by the binding client's own limit) for the
            // server-reflexive candidate before the SDP is written: there is no trickle in Verto.
            let complete = driver.withCoreOnLoop { $0.isGatheringComplete }
            if complete { return loop.makeSucceededFuture(driver) }
            let promise = loop.makePromise(of: DatagramDriver<PeerSession>.self)
            driver.afterInput = { core in
                if core.isGatheringComplete {
                    driver.afterInput = nil
                    promise.succeed(driver)
                }
            }
            return promise.futureResult
        }
    }
}
