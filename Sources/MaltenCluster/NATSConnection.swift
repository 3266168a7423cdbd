import CNATS
import Dispatch
import Glibc
import Synchronization

/// One connection to NATS through nats.c: publish, subscribe with a handler, and requests whose
/// answers come back on one inbox subscription of this member's.
///
/// nats.c reconnects by itself; while it does, publishing fails at once rather than being held
/// for later (the reconnect buffer is one byte), so nothing sent while the cluster is unreachable
/// is replayed when it comes back.
final class NATSConnection: @unchecked Sendable {
    /// A message as a handler receives it: the payload copied out, the reply subject if any.
    struct Message {
        var subject: String
        var payload: [UInt8]
        var reply: String?
    }

    enum ConnectionError: Error, CustomStringConvertible {
        case nats(String)
        var description: String {
            switch self { case .nats(let text): "NATS: \(text)" }
        }
    }

    private let connection: OpaquePointer
    /// Handlers and connection callbacks, kept alive as long as the connection.
    private let boxes = Mutex<[AnyObject]>([])
    private let inbox: String
    private let pending = Mutex<Pending>(Pending())
    private let sweeper: DispatchSourceTimer

    private struct Pending {
        var next: UInt64 = 0
        var waiting: [UInt64: Waiter] = [:]
    }

    private final class Waiter: @unchecked Sendable {
        let deadline: DispatchTime
        let expected: Int
        var replies: [[UInt8]] = []
        let done: @Sendable ([[UInt8]]) -> Void
        init(deadline: DispatchTime, expected: Int, done: @escaping @Sendable ([[UInt8]]) -> Void) {
            self.deadline = deadline
            self.expected = expected
            self.done = done
        }
    }

    /// - Parameters:
    ///   - inbox: a subject prefix no other connection uses; answers to this one's requests come there.
    ///   - changed: told `true` on every reconnect (and a connect that had to be retried) and `false` on
    ///     every disconnect, from nats.c's thread; a connection made at once is not told (see `isConnected`).
    init(urls: [String], name: String, inbox: String, caFile: String?, changed: @escaping @Sendable (Bool) -> Void) throws {
        if let failure = malten_nats_load() {
            throw ConnectionError.nats("cannot load nats.c (Debian's libnats3.4): \(String(cString: failure))")
        }
        var options: OpaquePointer?
        try Self.check(natsOptions_Create(&options))
        defer { natsOptions_Destroy(options) }
        var cURLs = urls.map { strdup($0) }
        defer { cURLs.forEach { free($0) } }
        try cURLs.withUnsafeMutableBufferPointer { buffer in
            try buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                try Self.check(natsOptions_SetServers(options, $0, Int32(buffer.count)))
            }
        }
        try Self.check(natsOptions_SetName(options, name))
        try Self.check(natsOptions_SetNoEcho(options, true))
        try Self.check(natsOptions_SetTimeout(options, 1000))
        try Self.check(natsOptions_SetMaxReconnect(options, -1))
        try Self.check(natsOptions_SetReconnectWait(options, 250))
        try Self.check(natsOptions_SetReconnectJitter(options, 100, 500))
        // A dead or unreachable NATS server is noticed within about a second.
        try Self.check(natsOptions_SetPingInterval(options, 400))
        try Self.check(natsOptions_SetMaxPingsOut(options, 2))
        try Self.check(natsOptions_SetReconnectBufSize(options, 1))
        try Self.check(natsOptions_SetMaxPendingMsgs(options, 1 << 20))
        // Each subscription delivers on a thread of its own: a handler that waits for a reply
        // (paging a hole) must not hold up the inbox that brings it, whatever the environment says.
        try Self.check(natsOptions_UseGlobalMessageDelivery(options, false))
        if let caFile { try Self.check(natsOptions_LoadCATrustedCertificates(options, caFile)) }
        let box = CallbackBox(changed)
        let context = Unmanaged.passUnretained(box).toOpaque()
        let up: natsConnectionHandler = { _, context in Unmanaged<CallbackBox>.fromOpaque(context!).takeUnretainedValue().changed(true) }
        let down: natsConnectionHandler = { _, context in Unmanaged<CallbackBox>.fromOpaque(context!).takeUnretainedValue().changed(false) }
        try Self.check(natsOptions_SetDisconnectedCB(options, down, context))
        try Self.check(natsOptions_SetReconnectedCB(options, up, context))
        try Self.check(natsOptions_SetRetryOnFailedConnect(options, true, up, context))
        var connection: OpaquePointer?
        let status = natsConnection_Connect(&connection, options)
        guard status == NATS_OK || status == NATS_NOT_YET_CONNECTED, let connection else { throw Self.error(status) }
        self.connection = connection
        self.inbox = inbox
        self.sweeper = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "malten.cluster.requests"))
        boxes.withLock { $0.append(box) }
        try subscribe("\(inbox).*") { [weak self] message in self?.answered(message) }
        sweeper.schedule(deadline: .now() + .milliseconds(50), repeating: .milliseconds(50), leeway: .milliseconds(20))
        sweeper.setEventHandler { [weak self] in self?.sweep() }
        sweeper.resume()
    }

    deinit {
        sweeper.cancel()
        natsConnection_Destroy(connection)
    }

    var isConnected: Bool { natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED }

    /// Publishes `payload`; false when it could not go out now (disconnected, say).
    @discardableResult
    func publish(_ subject: String, _ payload: [UInt8], reply: String? = nil) -> Bool {
        guard isConnected else { return false }
        let status = payload.withUnsafeBytes { bytes in
            if let reply {
                natsConnection_PublishRequest(connection, subject, reply, bytes.baseAddress, Int32(bytes.count))
            } else {
                natsConnection_Publish(connection, subject, bytes.baseAddress, Int32(bytes.count))
            }
        }
        return status == NATS_OK
    }

    /// Calls `handler` for each message on `subject`, in order, on a thread of nats.c's for this subscription.
    func subscribe(_ subject: String, handler: @escaping @Sendable (Message) -> Void) throws {
        let box = HandlerBox(handler)
        var subscription: OpaquePointer?
        let received: natsMsgHandler = { _, _, message, context in
            defer { natsMsg_Destroy(message) }
            let count = Int(natsMsg_GetDataLength(message))
            var payload = [UInt8](repeating: 0, count: count)
            if count > 0, let data = natsMsg_GetData(message) {
                payload.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: data, count: count)) }
            }
            let reply = natsMsg_GetReply(message).map { String(cString: $0) }
            let subject = String(cString: natsMsg_GetSubject(message))
            Unmanaged<HandlerBox>.fromOpaque(context!).takeUnretainedValue().handler(
                Message(subject: subject, payload: payload, reply: reply))
        }
        try Self.check(natsConnection_Subscribe(&subscription, connection, subject, received, Unmanaged.passUnretained(box).toOpaque()))
        try Self.check(natsSubscription_SetPendingLimits(subscription, 1 << 20, 256 << 20))
        boxes.withLock { $0.append(box) }
    }

    /// Sends a request and hands `done` the answers that came within `timeout`: at most `expected`
    /// of them (it is called as soon as that many came). None when it could not be sent.
    /// A "no responders" answer from NATS arrives as an empty payload.
    func request(
        _ subject: String, _ payload: [UInt8], timeout: DispatchTimeInterval, expected: Int = 1,
        done: @escaping @Sendable ([[UInt8]]) -> Void
    ) {
        let waiter = Waiter(deadline: .now() + timeout, expected: expected, done: done)
        let token = pending.withLock { pending in
            pending.next += 1
            pending.waiting[pending.next] = waiter
            return pending.next
        }
        if !publish(subject, payload, reply: "\(inbox).\(token)") {
            // Unless a disconnect's abandonRequests has answered it already.
            if pending.withLock({ $0.waiting.removeValue(forKey: token) }) != nil { done([]) }
        }
    }

    /// `request`, waited for on the calling thread (never an event loop's).
    func requestAndWait(_ subject: String, _ payload: [UInt8], timeout: DispatchTimeInterval, expected: Int = 1) -> [[UInt8]] {
        let answered = DispatchSemaphore(value: 0)
        let result = Mutex<[[UInt8]]>([])
        request(subject, payload, timeout: timeout, expected: expected) { replies in
            result.withLock { $0 = replies }
            answered.signal()
        }
        answered.wait()
        return result.withLock { $0 }
    }

    /// Every request still waiting ends now with what it has (the connection dropped).
    func abandonRequests() {
        let waiters = pending.withLock { pending in
            defer { pending.waiting.removeAll() }
            return Array(pending.waiting.values)
        }
        for waiter in waiters { waiter.done(waiter.replies) }
    }

    func close() {
        sweeper.cancel()
        natsConnection_FlushTimeout(connection, 500)
        natsConnection_Close(connection)
        abandonRequests()
    }

    private func answered(_ message: Message) {
        guard let token = message.subject.split(separator: ".").last.flatMap({ UInt64($0) }) else { return }
        let finished: Waiter? = pending.withLock { pending in
            guard let waiter = pending.waiting[token] else { return nil }
            waiter.replies.append(message.payload)
            guard waiter.replies.count >= waiter.expected else { return nil }
            pending.waiting[token] = nil
            return waiter
        }
        if let finished { finished.done(finished.replies) }
    }

    private func sweep() {
        let now = DispatchTime.now()
        let expired = pending.withLock { pending in
            let keys = pending.waiting.filter { $0.value.deadline <= now }.map(\.key)
            return keys.compactMap { pending.waiting.removeValue(forKey: $0) }
        }
        for waiter in expired { waiter.done(waiter.replies) }
    }

    private static func check(_ status: natsStatus) throws {
        if status != NATS_OK { throw error(status) }
    }

    private static func error(_ status: natsStatus) -> ConnectionError {
        .nats(String(cString: natsStatus_GetText(status)))
    }
}

private final class CallbackBox: @unchecked Sendable {
    let changed: @Sendable (Bool) -> Void
    init(_ changed: @escaping @Sendable (Bool) -> Void) { self.changed = changed }
}

private final class HandlerBox: @unchecked Sendable {
    let handler: @Sendable (NATSConnection.Message) -> Void
    init(_ handler: @escaping @Sendable (NATSConnection.Message) -> Void) { self.handler = handler }
}
