import Crypto

/// A pipe of the end-to-end format (`E2E.md`, "Pipes"): the link's 32-byte secret (`#p=…`) names
/// the pipe and keys the MAC of the parties' hellos; the messages' key comes from an ephemeral
/// P-256 key agreement between the two parties, so the link alone opens nothing (forward secrecy)
/// and a server without the secret cannot put its own key in the middle.
///
///     let pipe = PipeSecret.random()                 // or PipeSecret(secret: linkFragment)
///     let me = PipeParty(pipe)                       // post me.hello, read the pipe from its start
///     if let peer = me.peer(inHello: text) {         // the first hello that verifies and is not mine
///         let session = me.session(with: peer)       // session.safetyCode, seal, open
///     }
public struct PipeSecret: Sendable {
    /// The secret's base64url text, as the link carries it.
    public let secret: String
    /// The pipe's name on the server: 22 base64url characters.
    public let name: String
    let bytes: [UInt8]
    let authKey: SymmetricKey

    /// The pipe of a link's secret (base64url of 32 bytes).
    public init(secret: some StringProtocol) throws(SealedStreamError) {
        self.init(try LinkSecret(secret))
    }

    /// The pipe of 32 secret bytes.
    public init(secret bytes: [UInt8]) {
        self.init(LinkSecret(bytes: bytes))
    }

    private init(_ secret: LinkSecret) {
        self.bytes = secret.bytes
        self.secret = secret.text
        self.name = secret.name("malten/1 pipe")
        self.authKey = secret.derive("malten/1 pipe auth", 32)
    }

    /// A new pipe with a secret from the system's secure generator.
    public static func random() -> PipeSecret {
        PipeSecret(secret: LinkSecret.random())
    }
}

/// One party of a pipe: a fresh P-256 key pair that lives only in this value, and the hello that
/// announces its public point, authenticated by the pipe's secret.
public struct PipeParty: Sendable {
    static let helloPrefix = "h1."
    public let pipe: PipeSecret
    private let privateKey: P256.KeyAgreement.PrivateKey
    /// The public point Q, uncompressed (65 bytes: 04 ‖ x ‖ y).
    public let point: [UInt8]
    /// `h1.` + base64url(Q ‖ HMAC-SHA-256(auth key, `malten/1 hello` ‖ Q)): what this party posts.
    public let hello: String

    /// A party with a new key pair.
    public init(_ pipe: PipeSecret) {
        self.init(pipe, key: P256.KeyAgreement.PrivateKey())
    }

    /// A party with the private scalar `privateKey` (32 bytes; test vectors only).
    public init(_ pipe: PipeSecret, privateKey: [UInt8]) throws {
        self.init(pipe, key: try P256.KeyAgreement.PrivateKey(rawRepresentation: privateKey))
    }

    private init(_ pipe: PipeSecret, key privateKey: P256.KeyAgreement.PrivateKey) {
        self.pipe = pipe
        self.privateKey = privateKey
        self.point = Array(privateKey.publicKey.x963Representation)
        self.hello = Self.hello(point: point, pipe: pipe)
    }

    /// The other party's public key in a hello text; nil when it is not a hello, its MAC does not
    /// verify (a forged or another pipe's hello), its point is not on the curve, or it is our own.
    public func peer(inHello text: some StringProtocol) -> PipePeer? {
        guard text.hasPrefix(Self.helloPrefix), let bytes = Base64URL.decode(text.dropFirst(Self.helloPrefix.count)),
            bytes.count == 65 + 32
        else { return nil }
        let point = Array(bytes.prefix(65))
        guard point != self.point,
            HMAC<SHA256>.isValidAuthenticationCode(bytes.suffix(32), authenticating: Array("malten/1 hello".utf8) + point, using: pipe.authKey)
        else { return nil }
        return (try? P256.KeyAgreement.PublicKey(x963Representation: point)).map { PipePeer(key: $0, point: point) }
    }

    /// The session with `peer`: its message key and safety code, the same on both sides.
    public func session(with peer: PipePeer) -> PipeSession {
        let other = peer.point
        let ordered = point.lexicographicallyPrecedes(other) ? point + other : other + point
        let shared: SharedSecret
        do {
            shared = try privateKey.sharedSecretFromKeyAgreement(with: peer.key)
        } catch {
            preconditionFailure("P-256 agreement with a point that parsed cannot fail: \(error)")
        }
        let key = shared.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: pipe.bytes, sharedInfo: Array("malten/1 pipe key".utf8) + ordered, outputByteCount: 32)
        let digest = Array(SHA256.hash(data: Array("malten/1 safety".utf8) + ordered))
        let number = digest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } % 100_000_000
        var digits = String(number)
        while digits.count < 8 { digits = "0" + digits }
        return PipeSession(box: MessageBox(key: key, name: pipe.name), safetyCode: digits.prefix(4) + " " + digits.suffix(4))
    }

    /// The hello of any 65 bytes `point` in `pipe` (a party's own is `hello`).
    public static func hello(point: [UInt8], pipe: PipeSecret) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("malten/1 hello".utf8) + point, using: pipe.authKey)
        return helloPrefix + Base64URL.encode(point + Array(mac))
    }
}

/// The other party of a pipe, as its hello announced it.
public struct PipePeer: Sendable, Equatable {
    let key: P256.KeyAgreement.PublicKey
    /// Its public point, uncompressed (65 bytes).
    public let point: [UInt8]

    public static func == (a: PipePeer, b: PipePeer) -> Bool { a.point == b.point }
}

/// Two parties of a pipe agreed: messages sealed as in a sealed stream under the agreed key, and the
/// safety code both show (two groups of four digits) for the people to compare by voice.
public struct PipeSession: Sendable {
    let box: MessageBox
    public let safetyCode: String

    /// The message text for `text` sent at `time`, under a fresh nonce unless one is given (test
    /// vectors only).
    public func seal(_ text: String, time: UInt32, nonce: [UInt8]? = nil) throws(SealedStreamError) -> String {
        try box.seal(text, time: time, nonce: nonce)
    }

    /// The message inside `text`, or nil when it does not open.
    public func open(_ text: some StringProtocol) -> SealedMessage? {
        box.open(text)
    }
}
