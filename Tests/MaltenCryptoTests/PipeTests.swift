import MaltenCrypto
import MaltenTestSupport
import Testing

/// The pipe part of the end-to-end format: the vectors byte for byte, both parties agreeing, and
/// every hello that must be ignored.
@Suite struct PipeTests {
    typealias V = E2EVectors.Pipe
    let pipe = PipeSecret(secret: V.secret)

    func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }

    @Test func theVectorsOfTheFormat() throws {
        #expect(pipe.secret == V.secretText && pipe.name == V.name)
        let one = try PipeParty(pipe, privateKey: V.private1)
        let two = try PipeParty(pipe, privateKey: V.private2)
        #expect(hex(one.point) == V.point1 && hex(two.point) == V.point2)
        #expect(one.hello == V.hello1 && two.hello == V.hello2)
        let peerOfOne = try #require(one.peer(inHello: two.hello))
        let peerOfTwo = try #require(two.peer(inHello: one.hello))
        let a = one.session(with: peerOfOne)
        let b = two.session(with: peerOfTwo)
        #expect(a.safetyCode == V.safetyCode && b.safetyCode == V.safetyCode)
        #expect(try a.seal(V.text, time: V.time, nonce: V.nonce) == V.message)
        #expect(b.open(V.message) == SealedMessage(text: V.text, time: V.time, nonce: V.nonce))
        #expect(try PipeSecret(secret: V.secretText).name == V.name)
    }

    @Test func freshPartiesAgreeAndNobodyElseOpens() throws {
        let pipe = PipeSecret.random()
        let (one, two) = (PipeParty(pipe), PipeParty(pipe))
        let a = one.session(with: try #require(one.peer(inHello: two.hello)))
        let b = two.session(with: try #require(two.peer(inHello: one.hello)))
        #expect(a.safetyCode == b.safetyCode && a.safetyCode.count == 9)
        let sealed = try a.seal("the password is swordfish", time: 42)
        #expect(b.open(sealed)?.text == "the password is swordfish")
        // A third key pair, even one with the link, opens nothing: the key needs a private key.
        let eavesdropper = PipeParty(pipe)
        #expect(eavesdropper.session(with: try #require(eavesdropper.peer(inHello: one.hello))).open(sealed) == nil)
        // The same pipe with other parties: another key.
        let (three, four) = (PipeParty(pipe), PipeParty(pipe))
        #expect(three.session(with: try #require(three.peer(inHello: four.hello))).open(sealed) == nil)
    }

    @Test func hellosThatMustBeIgnored() throws {
        let one = try PipeParty(pipe, privateKey: V.private1)
        var forged = Array(V.hello2.utf8)  // a valid point with a wrong MAC
        forged[forged.count - 2] = forged[forged.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let otherPipe = PipeParty(PipeSecret.random())
        for text in [
            String(decoding: forged, as: UTF8.self), one.hello, otherPipe.hello, "h1.", "h1.!!!", "m1.abc", "",
            String(V.hello2.dropLast(4)), "h2." + V.hello2.dropFirst(3),
        ] {
            #expect(one.peer(inHello: text) == nil, "\(text)")
        }
        #expect(one.peer(inHello: V.hello2) != nil)
        #expect(throws: SealedStreamError.malformedSecret) { try PipeSecret(secret: "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl") }
    }

    @Test func aPointOffTheCurveWithAValidMACIsIgnored() throws {
        // Someone with the link could MAC any 65 bytes: the point must still be on the curve.
        let one = try PipeParty(pipe, privateKey: V.private1)
        let offCurve = [UInt8(4)] + [UInt8](repeating: 1, count: 64)
        let hello = PipeParty.hello(point: offCurve, pipe: pipe)
        #expect(one.peer(inHello: hello) == nil)
    }
}
