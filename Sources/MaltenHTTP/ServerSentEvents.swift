import MaltenCore
import MaltenJSON
import NIOCore

extension ByteBuffer {
    /// One Server-Sent Event: messages carry `id: <Created>` (for `Last-Event-ID`); presence events
    /// are plain `data:`; control events are named (`event: gap`), so clients that only listen to
    /// `message` are not disturbed.
    mutating func writeServerSentEvent(_ event: StreamEvent) {
        switch event {
        case .message(let message):
            writeStaticString("id: ")
            writeString(String(message.created))
            writeStaticString("\ndata: ")
        case .presence:
            writeStaticString("data: ")
        case .gap:
            writeStaticString("event: gap\ndata: ")
        case .evicted:
            writeStaticString("event: evicted\ndata: ")
        case .closed:
            writeStaticString("event: closed\ndata: ")
        }
        writeEvent(event)
        writeStaticString("\n\n")
    }
}
