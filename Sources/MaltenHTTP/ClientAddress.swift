import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address as 128 bits, IPv4 mapped into `::ffff:0:0/96`, for the per-client limits.
struct ClientAddress: Hashable, Sendable {
    var high: UInt64
    var low: UInt64

    /// The peer of a socket; nil for a Unix socket.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self.init(ipv4: UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var bytes = v6.address.sin6_addr
            self = withUnsafeBytes(of: &bytes) { Self(bytes: $0) }
        default:
            return nil
        }
    }

    /// An address as `X-Forwarded-For` writes it: `203.0.113.5`, `2001:db8::1`, `[2001:db8::1]:443`
    /// or `203.0.113.5:443`; nil for anything else.
    init?(text: Substring) {
        var text = text.trimmingSpaces()
        if text.first == "[", let close = text.firstIndex(of: "]") {
            text = text[text.index(after: text.startIndex)..<close]
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            text = text[..<colon]  // IPv4 with a port
        }
        guard !text.isEmpty, text.count <= 45 else { return nil }
        var v4 = in_addr()
        var v6 = in6_addr()
        let string = String(text)
        if inet_pton(AF_INET, string, &v4) == 1 {
            self.init(ipv4: UInt32(bigEndian: v4.s_addr))
        } else if inet_pton(AF_INET6, string, &v6) == 1 {
            self = withUnsafeBytes(of: &v6) { Self(bytes: $0) }
        } else {
            return nil
        }
    }

    init(ipv4: UInt32) {
        high = 0
        low = 0xffff_0000_0000 | UInt64(ipv4)
    }

    private init(bytes: UnsafeRawBufferPointer) {
        high = bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
        low = bytes.dropFirst(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    var isIPv4: Bool { high == 0 && low >> 32 == 0xffff }

    /// Whom the limits count: an IPv4 address as itself, an IPv6 address by its /64 (one
    /// household's or one server's prefix, as people expect).
    var client: ClientAddress {
        isIPv4 ? self : ClientAddress(high: high, low: 0)
    }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }
}

/// A CIDR range (`10.0.0.0/8`, `::1/128`, or one address) of trusted proxies.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    let base: ClientAddress
    let prefix: Int
    public let description: String

    /// Parses `ADDRESS[/PREFIX]`; nil when it is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = ClientAddress(text: parts[0]), !parts[0].contains("[") else { return nil }
        let width = address.isIPv4 ? 32 : 128
        let bits = parts.count == 2 ? Int(parts[1]) : width
        guard let bits, (0...width).contains(bits) else { return nil }
        prefix = address.isIPv4 ? bits + 96 : bits
        base = Self.masked(address, prefix)
        description = text
    }

    func contains(_ address: ClientAddress) -> Bool {
        Self.masked(address, prefix) == base
    }

    private static func masked(_ address: ClientAddress, _ prefix: Int) -> ClientAddress {
        let high = prefix >= 64 ? UInt64.max : (prefix == 0 ? 0 : ~UInt64(0) << (64 - prefix))
        let low = prefix <= 64 ? 0 : (prefix == 128 ? UInt64.max : ~UInt64(0) << (128 - prefix))
        return ClientAddress(high: address.high & high, low: address.low & low)
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var (start, end) = (startIndex, endIndex)
        while start < end, self[start] == " " || self[start] == "\t" { formIndex(after: &start) }
        while end > start, self[index(before: end)] == " " || self[index(before: end)] == "\t" { formIndex(before: &end) }
        return self[start..<end]
    }
}
