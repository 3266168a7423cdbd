import Dispatch
import MaltenCore
import MaltenStdio

#if canImport(Glibc)
import Glibc
#endif

/// Lines through the stdio frontend on pipes, in process: a writer thread feeds stdin, this thread
/// reads stdout to its end.
struct StdioLoad {
    /// Lines per second for `count` copies of `line` (one answer line each).
    func linesPerSecond(store: Store, line: String, count: Int) throws -> Double {
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&output) == 0 else { throw BenchError("stdio load: no pipes") }
        let frontend = StdioFrontend(store: store, input: input[0], output: output[1])
        let start = Stopwatch.now()
        let (readEnd, writeEnd) = (input[0], output[1])
        DispatchQueue.global().async {
            frontend.run()
            close(readEnd)
            close(writeEnd)
        }
        // Batches of whole lines, about 64 KiB each.
        let perBatch = max(1, (64 << 10) / (line.utf8.count + 1))
        let batch = Array(String(repeating: line + "\n", count: perBatch).utf8)
        let feed = input[1]
        DispatchQueue.global().async {
            var left = count
            while left > 0 {
                let lines = min(left, perBatch)
                let bytes = lines * (line.utf8.count + 1)
                var written = 0
                while written < bytes {
                    let result = batch.withUnsafeBytes { write(feed, $0.baseAddress! + written, bytes - written) }
                    if result <= 0 { break }
                    written += result
                }
                left -= lines
            }
            close(feed)
        }
        var answers = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(output[0], $0.baseAddress, $0.count) }
            if got <= 0 { break }
            for index in 0..<got where chunk[index] == 10 { answers += 1 }
        }
        close(output[0])
        let seconds = Double(Stopwatch.now() - start) / 1e9
        guard answers == count else { throw BenchError("stdio load: \(answers) answers for \(count) lines") }
        return Double(count) / seconds
    }
}
