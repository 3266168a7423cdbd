#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A message's UTF-8 text in one exact-size heap block: a 4-byte length, then the bytes.
///
/// 8 bytes in a slot (a `String` takes 16) and `4 + n` bytes on the heap (a native `String` takes
/// `32 + n + 1`): a 100-byte text is a 112-byte block instead of 160. Not reference counted: the
/// ring that holds it frees it exactly once (`free()`).
struct StoredText {
    private let block: UnsafeMutableRawPointer

    /// Copies `text`'s UTF-8 into a new block.
    init(_ text: String) {
        var text = text
        let count = text.utf8.count
        block = malloc(4 + count)!
        block.storeBytes(of: UInt32(count), as: UInt32.self)
        text.withUTF8 { (block + 4).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    var byteCount: Int { Int(block.load(as: UInt32.self)) }

    /// The UTF-8 bytes, valid until `free()`.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: block + 4, count: byteCount) }

    /// A `String` copy of the text.
    var string: String { String(decoding: bytes, as: UTF8.self) }

    func free() {
        #if canImport(Darwin)
        Darwin.free(block)
        #else
        Glibc.free(block)
        #endif
    }

    /// Heap bytes a text of `utf8Count` bytes takes: its block's jemalloc size class.
    static func heapBytes(utf8Count: Int) -> Int {
        MemoryCost.sizeClass(4 + utf8Count)
    }
}
