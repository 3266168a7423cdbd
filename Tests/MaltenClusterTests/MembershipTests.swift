@testable import MaltenCluster
import MaltenCore
import Testing

/// Ownership and the members' wire format, without NATS (ClusterTests runs the real thing).
@Suite struct MembershipTests {
    @Test func everyViewOfTheSameReadyMembersPicksTheSameOwner() {
        var a = Membership(selfID: 1)
        var b = Membership(selfID: 2)
        a.isSelfReady = true
        b.isSelfReady = true
        a.heard(2, isReady: true, clockOffset: 0, at: 0)
        a.heard(3, isReady: true, clockOffset: 0, at: 0)
        b.heard(1, isReady: true, clockOffset: 0, at: 0)
        b.heard(3, isReady: true, clockOffset: 0, at: 0)
        var owners: [UInt64: Int] = [:]
        for n in 0..<300 {
            let stream = "s\(n)"
            #expect(a.owner(of: stream) == b.owner(of: stream))
            owners[a.owner(of: stream) ?? 0, default: 0] += 1
        }
        // Spread over all three, roughly evenly.
        #expect(owners.keys.sorted() == [1, 2, 3] && owners.values.allSatisfy { $0 > 60 })
    }

    @Test func aMemberThatIsNotReadyOwnsNothingAndChangesMoveTheEpoch() {
        var view = Membership(selfID: 1)
        #expect(view.owner(of: "x") == nil)
        let start = view.epoch
        view.heard(2, isReady: false, clockOffset: 0, at: 0)
        #expect(view.owner(of: "x") == nil && view.epoch == start)
        view.heard(2, isReady: true, clockOffset: 0, at: 0)
        #expect(view.owner(of: "x") == 2 && view.epoch == start + 1)
        #expect(view.silent(at: 3_000_000_001, timeout: 3_000_000_000) == [2])
        view.remove(2)
        #expect(view.owner(of: "x") == nil && view.epoch == start + 2 && view.count == 1)
    }

    @Test func messagesAndRefusalsReadBackAsWritten() {
        let message = Message(id: MessageID(high: 0x4000, low: 0x8000_0000_0000_0001), text: "héllo 👋", created: 1_796_000_000_000_000_001, stream: "s~1")
        var writer = WireWriter(7)
        writer.message(message)
        writer.error(.invalidTTL(bounds: 1...86400))
        writer.stream(StreamInfo(name: "p", updated: 0, ttl: 600, observers: 0, isPrivate: true, isPipe: true))
        var reader = WireReader(writer.bytes)
        #expect(reader.byte() == 7)
        #expect(reader.message() == message)
        #expect(reader.error() == .invalidTTL(bounds: 1...86400))
        let info = reader.stream()
        #expect(info?.name == "p" && info?.ttl == 600 && info?.isPipe == true)
        #expect(reader.isAtEnd)
        // Cut short anywhere, it reads nothing rather than garbage.
        for length in 1..<writer.bytes.count - 1 {
            var short = WireReader(Array(writer.bytes.prefix(length)))
            _ = short.byte()
            let read = short.message().map { _ in short.error() }.map { _ in short.stream() }
            #expect(read == nil || read! == nil)
        }
    }
}
