import AsyncHTTPClient
import Foundation
import MaltenTestClients
import NIOCore
import NIOSSL
import Testing

/// `malten serve --tls-cert --tls-key` over real TLS, with a certificate made by `openssl` for the
/// test, run as an unprivileged user: HTTPS with HSTS, SSE over TLS, TLS 1.1 refused, and files
/// that cannot serve stop the start with a line naming them.
@Suite struct TLSServeTests {
    func client(trusting files: TestCertificate, maximum: TLSVersion? = nil) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(files.certificate))
        if let maximum { tls.maximumTLSVersion = maximum }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    @Test func servesHTTPSWithHSTSAndEventsOverTLS() async throws {
        let files = try TestCertificate()
        defer { files.remove() }
        let served = try await ServedProcess(arguments: ["--tls-cert", files.certificate, "--tls-key", files.key])
        defer { served.stop() }
        let client = try client(trusting: files)
        do {
            let base = "https://127.0.0.1:\(served.port)"
            var post = HTTPClientRequest(url: base + "/messages")
            post.method = .POST
            post.body = .bytes(ByteBuffer(string: "stream=tls&text=over%20TLS"))
            let posted = try await client.execute(post, timeout: .seconds(10))
            #expect(posted.status == .ok)
            #expect(posted.headers.first(name: "Strict-Transport-Security") == "max-age=31536000")
            let body = String(buffer: try await posted.body.collect(upTo: 1 << 16))
            #expect(body.contains("\"Text\":\"over TLS\""))

            let page = try await client.execute(HTTPClientRequest(url: base + "/"), timeout: .seconds(10))
            #expect(page.status == .ok && page.headers.first(name: "Strict-Transport-Security") != nil)

            // SSE over TLS: the replay after 0 holds the message.
            let events = try await client.execute(HTTPClientRequest(url: base + "/events?stream=tls&since=0"), timeout: .seconds(10))
            #expect(events.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true)
            var received = ""
            for try await chunk in events.body {
                received += String(buffer: chunk)
                if received.contains("over TLS") { break }
            }
            #expect(received.contains("id: ") && received.contains("over TLS"))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        // Plain HTTP to the TLS port gets no answer in the clear.
        let plain = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(served.port)/streams"), timeout: .seconds(5))
        #expect(plain?.status != .ok)
    }

    @Test func tlsOlderThan12IsRefused() async throws {
        let files = try TestCertificate()
        defer { files.remove() }
        let served = try await ServedProcess(arguments: ["--tls-cert", files.certificate, "--tls-key", files.key])
        defer { served.stop() }
        let old = try client(trusting: files, maximum: .tlsv11)
        let answer = try? await old.execute(HTTPClientRequest(url: "https://127.0.0.1:\(served.port)/streams"), timeout: .seconds(10))
        try await old.shutdown()
        #expect(answer == nil)
    }

    @Test func filesThatCannotServeStopTheStartNamingTheFile() throws {
        let files = try TestCertificate()
        defer { files.remove() }
        let missing = files.folder.appendingPathComponent("missing.pem").path
        for (certificate, key, says) in [
            (missing, files.key, "--tls-cert \(missing) cannot be read"),
            (files.key, files.key, "--tls-cert \(files.key) holds no PEM certificate"),
            (files.certificate, files.certificate, "--tls-key \(files.certificate) holds no PEM private key"),
            (files.certificate, missing, "--tls-key \(missing) cannot be read"),
        ] {
            let process = Process()
            process.executableURL = ServedProcess.builtBinary
            process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--tls-cert", certificate, "--tls-key", key]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus != 0)
            #expect(log.contains(says), "\(log)")
            #expect(!log.contains("listening on"))
        }
    }
}
