import MaltenCrypto
import MaltenTestSupport
import Testing

/// The end-to-end format's vectors (`E2E.md`, from an independent implementation), byte for byte,
/// and every way a text can fail to open.
@Suite struct SealedStreamTests {
    static let vector = E2EVectors.message
    let stream = SealedStream(secret: E2EVectors.secret)

    @Test func theVectorsOfTheFormat() throws {
        #expect(stream.secret == E2EVectors.secretText)
        #expect(stream.name == E2EVectors.name)
        let sealed = try stream.seal(E2EVectors.text, time: E2EVectors.time, nonce: E2EVectors.nonce)
        #expect(sealed == Self.vector)
        let opened = try #require(stream.open(Self.vector))
        #expect(opened == SealedMessage(text: E2EVectors.text, time: E2EVectors.time, nonce: E2EVectors.nonce))
        #expect(try SealedStream(secret: E2EVectors.secretText).name == stream.name)
    }

    @Test func theLargestTextFitsTheServersLimitAndOneByteMoreIsRefused() throws {
        let largest = try stream.seal(String(repeating: "é", count: 366) + "x", time: 1)  // 733 bytes
        #expect(largest.unicodeScalars.count <= 1024)
        #expect(stream.open(largest)?.text.utf8.count == 733)
        #expect(throws: SealedStreamError.textTooLong(bytes: 734)) { try stream.seal(String(repeating: "x", count: 734), time: 1) }
        #expect(throws: SealedStreamError.textTooLong(bytes: 734)) { try stream.seal(String(repeating: "é", count: 367), time: 1) }
    }

    @Test func aFreshNonceEverySeal() throws {
        let a = try #require(stream.open(try stream.seal("same", time: 5)))
        let b = try #require(stream.open(try stream.seal("same", time: 5)))
        #expect(a.text == "same" && a.time == 5 && a.nonce.count == 12)
        #expect(a.nonce != b.nonce)
        #expect(SealedStream.random().secret != SealedStream.random().secret)
    }

    @Test func whatDoesNotOpen() throws {
        var tampered = Array(Self.vector.utf8)
        tampered[20] = tampered[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let other = SealedStream(secret: [UInt8](repeating: 7, count: 32))
        for text in [
            String(decoding: tampered, as: UTF8.self),  // a flipped bit: the tag fails
            "héllo in the clear",  // plain text posted through the API
            String(Self.vector.dropFirst(3)),  // no prefix
            "m2." + Self.vector.dropFirst(3),  // another version
            "m1.!!!!",  // not base64url
            "m1." + Base64URL.encode([UInt8](repeating: 0, count: 31)),  // too short
            "m1.",
            String(Self.vector.dropLast(2)),  // truncated
        ] {
            #expect(stream.open(text) == nil, "\(text)")
        }
        #expect(other.open(Self.vector) == nil)  // another stream's key
    }

    @Test func malformedSecretsAreRefused() {
        for secret in [
            "", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh",  // 42 characters
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",  // 44
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+",  // base64, not base64url
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",  // padding
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9",  // unused bits set
        ] {
            #expect(throws: SealedStreamError.malformedSecret, "\(secret)") { try SealedStream(secret: secret) }
        }
    }

    @Test func base64URLRoundTrips() {
        for count in 0..<40 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 250) }
            let text = Base64URL.encode(bytes)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(Base64URL.decode(text) == bytes)
        }
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        #expect(Base64URL.decode("a") == nil)
    }
}
