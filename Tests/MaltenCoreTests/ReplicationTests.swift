import MaltenCore
import MaltenTestSupport
import Testing

/// What a cluster member's replica takes from the owners (`Store.replicate`, `remotePresence`,
/// `newestCreated`): owners' ids and positions kept, holes and duplicates told apart, other
/// members' subscribers counted and announced.
@Suite struct ReplicationTests {
    let clock = ManualClock()

    func makeStore() -> Store {
        Store(limits: Limits(), shardCount: 4, clock: clock, expiryInterval: nil)
    }

    @Test func aReplicaKeepsTheOwnersIdsAndPositionsAndFindsHoles() throws {
        let owner = makeStore()
        let replica = makeStore()
        var stamped: [(Message, Int64)] = []
        for i in 0..<3 { stamped.append(try owner.sequence(stream: "s", text: "m\(i)")) }
        #expect(stamped[0].1 == 0 && stamped[1].1 == stamped[0].0.created && stamped[2].1 == stamped[1].0.created)

        #expect(replica.replicate(stamped[0].0, after: stamped[0].1) == .applied)
        // The second went missing: the third says so, and changes nothing.
        #expect(replica.replicate(stamped[2].0, after: stamped[2].1) == .missing(after: stamped[0].0.created))
        #expect(replica.read(stream: "s", .newest(limit: 10, after: 0)).count == 1)
        #expect(replica.replicate(stamped[1].0, after: stamped[1].1) == .applied)
        #expect(replica.replicate(stamped[2].0, after: stamped[2].1) == .applied)
        // Again: a duplicate, however it comes.
        #expect(replica.replicate(stamped[1].0, after: nil) == .duplicate)
        #expect(replica.read(stream: "s", .newest(limit: 10, after: 0)) == owner.read(stream: "s", .newest(limit: 10, after: 0)))
        #expect(replica.newestCreated(stream: "s") == stamped[2].0.created)
        #expect(replica.newestCreated(stream: "none") == 0)
    }

    @Test func aReplicatedStreamHasTheOwnersSettingsAndItsSubscribersGetTheMessages() throws {
        let owner = makeStore()
        let replica = makeStore()
        let created = try owner.create(stream: "quiet", isPrivate: true, ttl: 60)
        replica.replicate(StreamInfo(name: created.name, updated: 0, ttl: created.ttl, observers: 0, isPrivate: created.isPrivate))
        #expect(replica.info(stream: "quiet")?.ttl == 60 && replica.info(stream: "quiet")?.isPrivate == true)
        #expect(replica.listedStreams().isEmpty)

        let listener = Recorder()
        _ = try replica.subscribe(stream: "quiet", subscriber: listener)
        let (message, previous) = try owner.sequence(stream: "quiet", text: "hello")
        #expect(replica.replicate(message, after: previous) == .applied)
        #expect(listener.texts == ["hello"])
        if case .message(let received) = listener.all.last { #expect(received == message) } else { Issue.record("no message") }
    }

    @Test func otherMembersSubscribersCountAndAreAnnounced() throws {
        let replica = makeStore()
        let local = Recorder()
        _ = try replica.subscribe(stream: "room", subscriber: local)
        replica.remotePresence(.connect, stream: "room", remoteObservers: 2)
        #expect(replica.info(stream: "room")?.observers == 3)
        #expect(replica.stats().observers == 3)
        replica.remotePresence(.close, stream: "room", remoteObservers: 1)
        #expect(local.presence == [.connect, .connect, .close])
        #expect(replica.info(stream: "room")?.observers == 2)

        // Remote subscribers keep a stream alive past its TTL; without them it expires.
        replica.remotePresence(nil, stream: "kept", remoteObservers: 1)
        clock.advance(seconds: 2000)
        replica.expireDue()
        #expect(replica.info(stream: "kept") != nil)
        replica.remotePresence(.close, stream: "kept", remoteObservers: 0)
        clock.advance(seconds: 2000)
        replica.expireDue()
        #expect(replica.info(stream: "kept") == nil)
    }

    @Test func aPipeCountsPartiesOnEveryMemberAndEndsWhenTheRemoteOneLeaves() throws {
        let replica = makeStore()
        let pipe = try replica.create(stream: nil, isPrivate: true, ttl: nil, pipe: true)
        let here = Recorder()
        _ = try replica.subscribe(stream: pipe.name, subscriber: here)
        replica.remotePresence(.connect, stream: pipe.name, remoteObservers: 1)
        #expect(replica.pipeRefusal(forSubscribingTo: pipe.name) == .pipeFull)
        replica.remotePresence(.close, stream: pipe.name, remoteObservers: 0)
        #expect(here.all.last == .closed(stream: pipe.name))
        #expect(replica.isClosedPipe(stream: pipe.name))
    }
}
