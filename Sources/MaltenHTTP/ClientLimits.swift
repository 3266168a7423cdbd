import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// What one client may do: writes per second (posts, WebSocket frames, stream creations and
/// subscriptions all take from one token bucket, with a burst of `burstSeconds` of them) and open
/// connections. Behind trusted proxies, a request's client is taken from `X-Forwarded-For`.
public struct ClientLimitSettings: Sendable {
    /// Writes per second per client; nil: no limit.
    public var writesPerSecond: Double?
    /// The bucket holds this many seconds of writes: a burst the rate allows at once.
    public var burstSeconds: Double = 5
    /// Open connections per client address; nil: no limit. Trusted proxies are not counted.
    public var maxConnectionsPerClient: Int?
    /// Peers whose `X-Forwarded-For` names the client (the rightmost address not itself trusted).
    public var trustedProxies: [AddressRange] = []
    /// Clients whose buckets are kept; past it the least recently seen one is dropped.
    public var clientsRemembered = 65_536

    public init(writesPerSecond: Double? = nil, maxConnectionsPerClient: Int? = nil, trustedProxies: [AddressRange] = []) {
        self.writesPerSecond = writesPerSecond
        self.maxConnectionsPerClient = maxConnectionsPerClient
        self.trustedProxies = trustedProxies
    }

    var isOff: Bool { writesPerSecond == nil && maxConnectionsPerClient == nil }
}

/// The per-client limits of one server, shared by its event loops: token buckets in a fixed table
/// (16 shards, each behind its own lock, least recently seen clients dropped first) and a count of
/// open connections per address. A request takes one lock for a few dozen nanoseconds.
final class ClientLimits: Sendable {
    let settings: ClientLimitSettings
    private let shards: [NIOLockedValueBox<BucketTable>]
    private let connections = NIOLockedValueBox<[ClientAddress: Int]>([:])

    init(_ settings: ClientLimitSettings) {
        self.settings = settings
        let perShard = max(1, settings.clientsRemembered / 16)
        shards = (0..<16).map { _ in NIOLockedValueBox(BucketTable(capacity: perShard)) }
    }

    private func isTrusted(_ address: ClientAddress) -> Bool {
        settings.trustedProxies.contains { $0.contains(address) }
    }

    /// Who sent a request that came from `peer`: the peer itself, or for a trusted proxy the
    /// rightmost address of `X-Forwarded-For` that is not a trusted proxy too.
    func client(peer: ClientAddress?, headers: HTTPHeaders) -> ClientAddress? {
        guard let peer else { return nil }
        guard isTrusted(peer) else { return peer.client }
        // From the right, trusted hops are skipped; the first other entry is the client, and one
        // that does not parse (`unknown`) stops the walk, so nothing to its left counts.
        var client = peer
        for entry in headers[canonicalForm: "x-forwarded-for"].reversed() {
            guard let address = ClientAddress(text: entry) else { break }
            client = address
            if !isTrusted(address) { break }
        }
        return client.client
    }

    /// Who sent `head` over `channel`.
    func client(of channel: any Channel, head: HTTPRequestHead) -> ClientAddress? {
        client(peer: channel.remoteAddress.flatMap(ClientAddress.init), headers: head.headers)
    }

    /// Takes one write from `client`'s bucket: nil when allowed, else the seconds to wait.
    func takeWrite(from client: ClientAddress?, now: NIODeadline = .now()) -> Int? {
        guard let rate = settings.writesPerSecond, let client else { return nil }
        let shard = shards[Int(truncatingIfNeeded: (client.high ^ client.low).multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15).high) & 15]
        return shard.withLockedValue {
            $0.take(client, rate: rate, burst: max(1, rate * settings.burstSeconds), now: Int64(now.uptimeNanoseconds))
        }
    }

    /// Counts a new connection from `peer`; false when its address has all it may open (it is
    /// not counted then). A trusted proxy is never refused.
    func connect(_ peer: ClientAddress) -> Bool {
        guard let limit = settings.maxConnectionsPerClient, !isTrusted(peer) else { return true }
        let client = peer.client
        return connections.withLockedValue { open in
            let count = open[client, default: 0]
            guard count < limit else { return false }
            open[client] = count + 1
            return true
        }
    }

    /// Uncounts a connection that `connect` counted.
    func disconnect(_ peer: ClientAddress) {
        guard settings.maxConnectionsPerClient != nil, !isTrusted(peer) else { return }
        let client = peer.client
        connections.withLockedValue { open in
            let count = open[client, default: 1] - 1
            open[client] = count > 0 ? count : nil
        }
    }
}

/// Token buckets for a fixed number of clients, in arrays with a recency list through them.
struct BucketTable {
    private var index: [ClientAddress: Int32] = [:]
    private var keys: [ClientAddress] = []
    private var tokens: [Double] = []
    private var stamps: [Int64] = []
    private var newer: [Int32] = []
    private var older: [Int32] = []
    private var newest: Int32 = -1
    private var oldest: Int32 = -1
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Refills the bucket for the time since it was last seen, then takes a token: nil, or the
    /// whole seconds until one is there.
    mutating func take(_ client: ClientAddress, rate: Double, burst: Double, now: Int64) -> Int? {
        let slot: Int
        if let found = index[client] {
            slot = Int(found)
            unlink(slot)
            tokens[slot] = min(burst, tokens[slot] + Double(max(0, now - stamps[slot])) / 1e9 * rate)
        } else if keys.count < capacity {
            slot = keys.count
            keys.append(client)
            tokens.append(burst)
            stamps.append(now)
            newer.append(-1)
            older.append(-1)
            index[client] = Int32(slot)
        } else {
            slot = Int(oldest)  // the least recently seen client is forgotten
            unlink(slot)
            index[keys[slot]] = nil
            keys[slot] = client
            tokens[slot] = burst
            index[client] = Int32(slot)
        }
        stamps[slot] = now
        linkNewest(slot)
        // At most a day: a tiny rate's wait must not overflow an Int.
        guard tokens[slot] >= 1 else { return max(1, Int(min(86_400, ((1 - tokens[slot]) / rate).rounded(.up)))) }
        tokens[slot] -= 1
        return nil
    }

    private mutating func unlink(_ slot: Int) {
        let (before, after) = (older[slot], newer[slot])
        if before >= 0 { newer[Int(before)] = after } else { oldest = after }
        if after >= 0 { older[Int(after)] = before } else { newest = before }
    }

    private mutating func linkNewest(_ slot: Int) {
        older[slot] = newest
        newer[slot] = -1
        if newest >= 0 { newer[Int(newest)] = Int32(slot) } else { oldest = Int32(slot) }
        newest = Int32(slot)
    }

    var count: Int { keys.count }
}
