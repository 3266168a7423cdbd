/// One Server-Sent Event: its `event:` name (nil for a message), `id:` and `data:`.
struct ServerSentEvent: Equatable {
    var name: String?
    var id: String?
    var data: String
}

/// Turns a `text/event-stream` body, in chunks as they arrive, into events (comments such as the
/// `: hb` heartbeat are skipped).
struct ServerSentEventParser {
    private var pending: [UInt8] = []
    private var event = ServerSentEvent(data: "")
    private var hasData = false

    /// The events completed by `bytes`.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [ServerSentEvent] {
        pending += bytes
        if pending.count > 1 << 20 { pending.removeAll() }  // no event line is that long: a hostile server
        var events: [ServerSentEvent] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            var line = pending[..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            let text = String(decoding: line, as: UTF8.self)
            pending.removeSubrange(...newline)
            if text.isEmpty {
                if hasData { events.append(event) }
                event = ServerSentEvent(data: "")
                hasData = false
                continue
            }
            guard !text.hasPrefix(":") else { continue }
            let field = text.prefix { $0 != ":" }
            var value = text.dropFirst(field.count).dropFirst()
            if value.hasPrefix(" ") { value = value.dropFirst() }
            switch field {
            case "event": event.name = String(value)
            case "id": event.id = String(value)
            case "data":
                // A Malten event is a few KiB: a hostile server's endless event is cut, not kept.
                guard event.data.utf8.count < 1 << 16 else { continue }
                event.data += (hasData ? "\n" : "") + value
                hasData = true
            default: break
            }
        }
        return events
    }
}
