#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import MaltenCore
import MaltenJSON
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Malten over standard input and output, as JSON Lines (Part 3 of the contract): one request per
/// line in, its answer as one line out, in order, and `{"sub":N,"event":…}` lines for
/// subscriptions. Answers are written before any event they cause. Bad input never ends it; end of
/// input does, after everything pending is written and every subscription ended.
///
///     StdioFrontend(store: Store()).run()   // reads stdin until EOF
public final class StdioFrontend: @unchecked Sendable {
    private let store: any StreamStore
    private let input: Int32
    private let output: StdioOutput
    private let maxLineBytes: Int
    private let decoder = JSONDecoder()
    /// Live subscriptions by their number; touched only on the output queue.
    private var subscriptions: [Int: Subscription] = [:]
    private var subscriberCount = 0

    /// - Parameter maxLineBytes: a longer line is refused (413) without being held whole.
    public init(store: any StreamStore, input: Int32 = 0, output: Int32 = 1, maxLineBytes: Int = 64 << 10) {
        self.store = store
        self.input = input
        self.output = StdioOutput(descriptor: output)
        self.maxLineBytes = maxLineBytes
    }

    /// Serves until end of input; then ends every subscription and writes what is pending.
    public func run() {
        signal(SIGPIPE, SIG_IGN)
        var line: [UInt8] = []
        var overlong = false
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            var start = 0
            while start < count {
                let newline = chunk[start..<count].firstIndex(of: UInt8(ascii: "\n"))
                let end = newline ?? count
                if !overlong {
                    if line.count + (end - start) > maxLineBytes {
                        overlong = true
                        line.removeAll()
                    } else {
                        line.append(contentsOf: chunk[start..<end])
                    }
                }
                guard newline != nil else { break }
                answer(line: line, overlong: overlong)
                line.withUnsafeMutableBytes { $0.wipe() }
                line.removeAll(keepingCapacity: true)
                overlong = false
                start = end + 1
            }
            chunk.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[..<count]).wipe() }  // what this read brought
            output.queue.sync { output.flush() }
        }
        if overlong || !line.isEmpty { answer(line: line, overlong: overlong) }
        line.withUnsafeMutableBytes { $0.wipe() }
        output.queue.sync {
            for subscription in subscriptions.values { store.unsubscribe(subscription) }
            subscriptions.removeAll()
        }
        output.queue.sync { output.flush() }  // after the events the unsubscriptions queued
    }

    private func answer(line: [UInt8], overlong: Bool) {
        output.queue.sync {
            if overlong {
                fail(rid: nil, status: 413, "Line exceeds \(maxLineBytes) bytes")
                return
            }
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { return }  // blank lines are skipped
            let data = Data(line)
            let request: StdioRequest
            do {
                request = try decoder.decode(StdioRequest.self, from: data)
            } catch {
                // Not JSON, not an object, or a field of the wrong type: answer with its rid if it has one.
                let rid = (try? decoder.decode(RequestID.self, from: data))?.rid
                fail(rid: rid, status: 400, rid == nil ? "Invalid request: not a JSON object" : "Invalid request: a field has the wrong type")
                return
            }
            perform(request)
        }
    }

    // MARK: Operations (on the output queue)

    private func perform(_ request: StdioRequest) {
        let rid = request.rid
        do throws(StdioError) {
            switch request.op {
            case "post": try post(request)
            case "get": try get(request)
            case "streams": try streams(request)
            case "create": try create(request)
            case "subscribe": try subscribe(request)
            case "unsubscribe": try unsubscribe(request)
            case nil: throw StdioError(400, "Missing op")
            case let op?: throw StdioError(400, "Unknown op '\(op)': post, get, streams, create, subscribe or unsubscribe")
            }
        } catch {
            fail(rid: rid, status: error.status, error.message)
        }
    }

    private func ok(_ rid: JSONValue?, _ write: (inout ByteBuffer) -> Void) {
        output.line { buffer in
            buffer.writeStaticString("{\"rid\":")
            buffer.writeJSONValue(rid ?? .null)
            buffer.writeStaticString(",\"ok\":")
            write(&buffer)
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    private func fail(rid: JSONValue?, status: Int, _ message: String) {
        output.line { buffer in
            buffer.writeStaticString("{\"rid\":")
            buffer.writeJSONValue(rid ?? .null)
            buffer.writeStaticString(",\"error\":")
            buffer.writeJSON(bound: JSONWriter.stringBound(message.utf8.count)) { $0.string(message) }
            buffer.writeString(",\"status\":\(status)}")
        }
    }

    private static func present(_ text: String?) -> String? {
        text?.isEmpty == false ? text : nil
    }

    /// A write's answer, waited for: lines are answered in order, and a clustered store answers
    /// from its own thread.
    private static func wait<T: Sendable>(
        _ write: (@escaping @Sendable (Result<T, StoreError>) -> Void) -> Void
    ) throws(StdioError) -> T {
        let answered = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<T, StoreError>?
        write { result in
            outcome = result
            answered.signal()
        }
        answered.wait()
        switch outcome.unsafelyUnwrapped {
        case .success(let value): return value
        case .failure(let error): throw StdioError(error)
        }
    }

    private func streamName(_ request: StdioRequest) throws(StdioError) -> String {
        let name = Self.present(request.stream) ?? StreamName.defaultName
        guard StreamName.isValid(name) else { throw StdioError(StoreError.invalidStreamName) }
        return name
    }

    private func post(_ request: StdioRequest) throws(StdioError) {
        let stream = try streamName(request)
        let text = Self.present(request.text) ?? request.message ?? ""
        let message = try Self.wait { store.post(stream: stream, text: text, done: $0) }
        ok(request.rid) { $0.writeMessage(message) }
    }

    private func get(_ request: StdioRequest) throws(StdioError) {
        let stream = try streamName(request)
        let limit = request.limit ?? 25
        guard limit >= 1 else { throw StdioError(400, "Invalid limit: expected an integer of at least 1") }
        let last = request.last?.value ?? 0
        guard last >= 0 else { throw StdioError(400, "Invalid last: expected an integer of at least 0") }
        if let since = request.since?.value, since < 0 { throw StdioError(400, "Invalid since: expected an integer of at least 0") }
        let query: ReadQuery
        if let id = Self.present(request.id) {
            guard let id = MessageID(id) else {
                ok(request.rid) { $0.writeStaticString("[]") }
                return
            }
            query = .id(id)
        } else if let since = request.since?.value {
            query = .since(since, limit: limit)
        } else if request.direction ?? 1 >= 0 {
            query = .newest(limit: limit, after: last)
        } else {
            query = .older(limit: limit, before: last)
        }
        var messages = ByteBuffer()
        // A closed pipe holds nothing: only an empty answer needs the second look.
        if messages.writeMessages(of: stream, query, in: store) == 0, store.isClosedPipe(stream: stream) {
            throw StdioError(StoreError.pipeClosed)
        }
        ok(request.rid) { $0.writeImmutableBuffer(messages) }
    }

    private func streams(_ request: StdioRequest) throws(StdioError) {
        if Self.present(request.stream) != nil {
            let name = try streamName(request)
            guard let info = store.info(stream: name) else {
                if store.isClosedPipe(stream: name) { throw StdioError(StoreError.pipeClosed) }
                throw StdioError(404, "Stream not found")
            }
            ok(request.rid) { $0.writeStreams([info]) }
        } else {
            let listed = store.listedStreams()
            ok(request.rid) { $0.writeStreams(listed) }
        }
    }

    private func create(_ request: StdioRequest) throws(StdioError) {
        let name = Self.present(request.stream)
        if let name, !StreamName.isValid(name) { throw StdioError(StoreError.invalidStreamName) }
        let created = try Self.wait {
            store.create(stream: name, isPrivate: request.private ?? false, ttl: request.ttl, pipe: request.pipe ?? false, done: $0)
        }
        ok(request.rid) { $0.writeCreatedStream(created) }
    }

    private func subscribe(_ request: StdioRequest) throws(StdioError) {
        let stream = try streamName(request)
        if let since = request.since?.value, since < 0 { throw StdioError(400, "Invalid since: expected an integer of at least 0") }
        subscriberCount += 1
        let number = subscriberCount
        let subscriber = StdioSubscriber(number: number, output: output)
        // The replay and the connect event are queued (lineLater) behind the answer written below;
        // a refusal (a full or closed pipe, say) is the only answer.
        do {
            subscriptions[number] = try store.subscribe(stream: stream, since: request.since?.value, subscriber: subscriber)
        } catch {
            throw StdioError(error)
        }
        ok(request.rid) { $0.writeString("{\"sub\":\(number)}") }
    }

    private func unsubscribe(_ request: StdioRequest) throws(StdioError) {
        guard let number = request.sub else { throw StdioError(400, "Missing sub") }
        guard let subscription = subscriptions.removeValue(forKey: number) else {
            throw StdioError(404, "No subscription \(number)")
        }
        store.unsubscribe(subscription)
        ok(request.rid) { $0.writeStaticString("true") }
    }
}

/// A refusal with the status HTTP would give it.
struct StdioError: Error {
    var status: Int
    var message: String

    init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: StoreError) {
        self.init(error.status, error.message)
    }
}

extension ByteBuffer {
    /// `{"sub":N,"event":…}`
    mutating func writeSubscriptionEvent(_ number: Int, _ event: (inout ByteBuffer) -> Void) {
        writeStaticString("{\"sub\":")
        writeString(String(number))
        writeStaticString(",\"event\":")
        event(&self)
        writeInteger(UInt8(ascii: "}"))
    }

    /// A JSON value as it came.
    mutating func writeJSONValue(_ value: JSONValue) {
        switch value {
        case .null: writeStaticString("null")
        case .bool(let flag): writeStaticString(flag ? "true" : "false")
        case .integer(let number): writeString(String(number))
        case .number(let number): writeString(number.isFinite ? String(number) : "null")
        case .string(let text): writeJSON(bound: JSONWriter.stringBound(text.utf8.count)) { $0.string(text) }
        case .array(let items):
            writeInteger(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { writeInteger(UInt8(ascii: ",")) }
                writeJSONValue(item)
            }
            writeInteger(UInt8(ascii: "]"))
        case .object(let members):
            writeInteger(UInt8(ascii: "{"))
            for (index, (key, item)) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { writeInteger(UInt8(ascii: ",")) }
                writeJSON(bound: JSONWriter.stringBound(key.utf8.count)) { $0.string(key) }
                writeInteger(UInt8(ascii: ":"))
                writeJSONValue(item)
            }
            writeInteger(UInt8(ascii: "}"))
        }
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Overwrites every byte with zero (`explicit_bzero`, which no optimiser removes): stdio's input
    /// and output buffers live as long as the session and would otherwise keep the last lines.
    func wipe() {
        if let start = baseAddress { explicit_bzero(start, count) }
    }
}
