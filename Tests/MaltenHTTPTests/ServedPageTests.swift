import Foundation
import MaltenCrypto
import MaltenTestClients
import Testing

/// The page as a home network reaches it: served by the executable itself over HTTPS (a
/// certificate made for the test, which Chromium trusts by its key's hash), run as an unprivileged
/// user. An encrypted stream is made and written in the page, its events come over TLS (the page's
/// SSE, and a WebSocket over WSS), the command-line client reads it over HTTPS, and the served
/// process's memory holds the ciphertext but neither the text typed nor the link's secret.
@Suite(.serialized, .enabled(if: WebDriver.available || ProcessInfo.processInfo.environment["CI"] != nil))
struct ServedPageTests {
    @Test func anEncryptedStreamOverHTTPSLeavesOnlyCiphertextInTheServer() async throws {
        let certificate = try TestCertificate()
        defer { certificate.remove() }
        let served = try await ServedProcess(arguments: ["--tls-cert", certificate.certificate, "--tls-key", certificate.key])
        defer { served.stop() }
        let base = "https://127.0.0.1:\(served.port)"
        let driver = try await WebDriver.start()
        do {
            let page = try await driver.newSession(arguments: ["--ignore-certificate-errors-spki-list=\(try certificate.publicKeyHash())"])
            try await check(page, base: base, certificate: certificate, served: served)
            await page.close()
        } catch {
            await driver.stop()
            throw error
        }
        await driver.stop()
    }

    func check(_ page: Browser, base: String, certificate: TestCertificate, served: ServedProcess) async throws {
        let link = try await BrowserTests.create("encrypted", in: page, at: base)
        #expect(link.hasPrefix(base + "/#k="))
        // A secure context: WebCrypto is there because the page came over TLS, not from localhost.
        #expect(try await page.run("return window.isSecureContext ? location.protocol : 'insecure';") as? String == "https:")
        let stream = try SealedStream(secret: link.dropFirst((base + "/#k=").count))
        try await page.click("#share-open")
        try await page.wait("the stream", "return !document.querySelector('#stream').hidden;")
        let marker = "MARKER-\(UUID().uuidString)-typed-in-the-page-and-never-seen-by-the-server"
        try await page.type("#text", marker + "\u{E007}")
        // The page shows its message when its own event comes back over SSE on TLS.
        try await page.wait("the message, from its event", BrowserTests.has(marker))
        #expect(try await page.run("return document.querySelectorAll('#messages li.sealed').length;") as? Int == 1)

        // A WebSocket from the page over WSS replays the stored message: still ciphertext.
        let framed = try await page.run(
            """
            const socket = new WebSocket('wss://' + location.host + '/events?since=0&stream=' + encodeURIComponent(arguments[0]));
            return await new Promise((resolve) => {
              socket.onmessage = (event) => {
                const message = JSON.parse(event.data);
                if (message.Type === 'message') { socket.close(); resolve(message.Text); }
              };
              socket.onerror = () => resolve('error');
              setTimeout(() => resolve('timed out'), 10000);
            });
            """, [stream.name]) as? String
        let held = try #require(framed)
        #expect(held.hasPrefix("m1.") && stream.open(held)?.text == marker)

        // The command-line client reads it over HTTPS, trusting the certificate by --ca-file.
        #expect(try await BrowserCryptoTests.malten(["read", link, "--ca-file", certificate.certificate]) == marker + "\n")

        if ProcessMemory.readable {  // root only: the server is not dumpable
            let found = try await ProcessMemory(pid: served.process.processIdentifier).contains([marker, stream.secret, held])
            #expect(found[held] == true)  // the scan sees what the server holds
            #expect(found[marker] == false && found[stream.secret] == false)
        }
        #expect(try await page.requestedURLs().allSatisfy { !$0.contains(stream.secret) })
    }
}
