import MaltenCore
import NIOCore

extension ByteBuffer {
    /// A subscription event as the contract writes it: a message object, a presence event
    /// (`"Type":"event"`), or a control event (`gap`, `evicted`, `closed`).
    public mutating func writeEvent(_ event: StreamEvent) {
        switch event {
        case .message(let message):
            writeMessage(message)
        case .presence(let presence):
            writeJSON(bound: 160 + JSONWriter.stringBound(presence.stream.utf8.count)) { json in
                json.raw("{\"Id\":\"")
                json.uuid(presence.id)
                json.raw(presence.change == .connect ? "\",\"Text\":\"connect\"" : "\",\"Text\":\"close\"")
                json.raw(",\"Type\":\"event\",\"Created\":\"")
                json.decimal(presence.created)
                json.raw("\",\"Stream\":")
                json.string(presence.stream)
                json.raw(",\"Metadata\":null}")
            }
        case .gap(let stream, let from, let oldest):
            writeJSON(bound: 96 + JSONWriter.stringBound(stream.utf8.count)) { json in
                json.raw("{\"Type\":\"gap\",\"Stream\":")
                json.string(stream)
                json.raw(",\"From\":\"")
                json.decimal(from)
                json.raw("\",\"Oldest\":\"")
                json.decimal(oldest)
                json.raw("\"}")
            }
        case .evicted(let stream):
            writeControl("evicted", stream: stream)
        case .closed(let stream):
            writeControl("closed", stream: stream)
        }
    }

    /// `{"Type":"lagged","Stream":…}`: the last event to a subscriber that fell too far behind.
    public mutating func writeLagged(stream: String) {
        writeControl("lagged", stream: stream)
    }

    private mutating func writeControl(_ type: StaticString, stream: String) {
        writeJSON(bound: 48 + JSONWriter.stringBound(stream.utf8.count)) { json in
            json.raw("{\"Type\":\"")
            json.raw(type)
            json.raw("\",\"Stream\":")
            json.string(stream)
            json.byte(UInt8(ascii: "}"))
        }
    }
}

extension StoreError {
    /// The status every frontend reports for this refusal (HTTP's, and the stdio `status` field).
    public var status: Int {
        switch self {
        case .blankMessage, .invalidStreamName, .invalidPipeName, .invalidTTL: 400
        case .messageTooLong: 413
        case .streamExists, .pipeFull: 409
        case .pipeClosed: 410
        case .overBudget, .unavailable: 503
        }
    }
}
