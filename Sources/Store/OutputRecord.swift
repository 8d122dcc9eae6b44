import Foundation

/// One prompt's output for one unit. (unitID, promptIndex) is unique in the store, so a unit can
/// never hold two outputs for the same prompt.
public struct OutputRecord: Codable, Hashable, Sendable {
    public var id: Int64?
    public var unitID: Int64
    public var promptIndex: Int
    public var prompt: String
    public var text: String
    public var promptTokenCount: Int
    public var generatedTokenCount: Int
    /// Seconds spent appending this prompt's tokens after the document's KV.
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    /// Why generation stopped: "stop" (end-of-sequence token) or "length" (max_new_tokens).
    public var finishReason: String

    enum CodingKeys: String, CodingKey {
        case id, prompt, text
        case unitID = "unit_id", promptIndex = "prompt_index", promptTokenCount = "prompt_token_count"
        case generatedTokenCount = "generated_token_count", prefillSeconds = "prefill_seconds"
        case decodeSeconds = "decode_seconds", finishReason = "finish_reason"
    }

    public init(id: Int64? = nil, unitID: Int64, promptIndex: Int, prompt: String, text: String, promptTokenCount: Int,
                generatedTokenCount: Int, prefillSeconds: Double, decodeSeconds: Double, finishReason: String) {
        self.id = id
        self.unitID = unitID
        self.promptIndex = promptIndex
        self.prompt = prompt
        self.text = text
        self.promptTokenCount = promptTokenCount
        self.generatedTokenCount = generatedTokenCount
        self.prefillSeconds = prefillSeconds
        self.decodeSeconds = decodeSeconds
        self.finishReason = finishReason
    }
}
