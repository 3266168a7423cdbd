/// Why a client command failed: one line for stderr.
public enum ClientError: Error, CustomStringConvertible {
    /// The LINK or `--server` is not one this client reads.
    case badLink(String)
    /// The server could not be reached or the connection broke.
    case unreachable(origin: String, reason: String)
    /// The server refused: its status and its message.
    case refused(status: Int, message: String)
    /// An encrypted text too long to seal.
    case tooLong(String)

    public var description: String {
        switch self {
        case .badLink(let why): why
        case .unreachable(let origin, let reason): "cannot reach \(origin): \(reason)"
        case .refused(let status, let message): "the server refused (\(status)): \(message)"
        case .tooLong(let why): why
        }
    }
}
