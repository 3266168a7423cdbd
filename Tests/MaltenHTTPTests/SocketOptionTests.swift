import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The options the server sets on the sockets it accepts, read back from the kernel: the server runs
/// in this process, so its accepted sockets are among this process's own descriptors.
@Suite struct SocketOptionTests {
    @Test func acceptedSocketsHaveNoDelayAndNoDebug() async throws {
        try await TestServer.with { server in
            let answer = try await server.request(.GET, "/streams", headers: [("Connection", "keep-alive")])  // still open below
            #expect(answer.status == 200)
            let accepted = acceptedSockets(port: server.port)
            #expect(!accepted.isEmpty)
            for fd in accepted {
                // Nagle off: small answers and events leave at once.
                #expect(option(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY) == 1)
                // SO_DEBUG needs CAP_NET_ADMIN: asked for by mistake, it resets every connection of an
                // unprivileged server.
                #expect(option(fd, level: SOL_SOCKET, name: SO_DEBUG) == 0)
            }
        }
    }

    /// This process's TCP sockets whose local port is `port` and that have a peer: the ones the
    /// server accepted (the listening socket has no peer; the clients' sockets have other local ports).
    func acceptedSockets(port: Int) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap(Int32.init).filter { fd in
            var local = sockaddr_in()
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let isLocal = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
            }
            guard isLocal, local.sin_family == sa_family_t(AF_INET), Int(UInt16(bigEndian: local.sin_port)) == port
            else { return false }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) == 0 }
            }
        }
    }

    func option(_ fd: Int32, level: Int32, name: Int32) -> Int32? {
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }
}
