import Grammar

/// What a prompt given as an object adds to its text: its own response format and generation
/// settings (each falls back to the job's), and — for jobs made from an OpenAI batch file — the
/// request it answers and the document (shared leading messages) it runs over.
public struct PromptOptions: Codable, Equatable, Sendable {
    public var responseFormat: ResponseFormat?
    public var maxNewTokens: Int?
    public var temperature: Double?
    public var seed: Int?
    /// Batch jobs: the request's `custom_id`.
    public var customID: String?
    /// Batch jobs: the (absolute) document path whose unit runs this prompt; nil: every document.
    public var document: String?
    /// Batch jobs: the request's `model`, echoed in its output line.
    public var model: String?

    public init(responseFormat: ResponseFormat? = nil, maxNewTokens: Int? = nil, temperature: Double? = nil, seed: Int? = nil,
                customID: String? = nil, document: String? = nil, model: String? = nil) {
        self.responseFormat = responseFormat
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.seed = seed
        self.customID = customID
        self.document = document
        self.model = model
    }

    var isEmpty: Bool { self == PromptOptions() }

    enum CodingKeys: String, CodingKey {
        case temperature, seed, document, model
        case responseFormat = "response_format", maxNewTokens = "max_new_tokens", customID = "custom_id"
    }
}

/// The settings of one prompt, resolved against the job's.
public struct PromptSettings: Sendable, Equatable {
    public var index: Int
    public var text: String
    public var responseFormat: ResponseFormat?
    public var maxNewTokens: Int
    public var temperature: Double
    public var seed: Int
}

extension JobSpec {
    public func settings(ofPrompt index: Int) -> PromptSettings {
        let options = promptOptions?[index] ?? PromptOptions()
        return PromptSettings(index: index, text: prompts[index], responseFormat: options.responseFormat ?? responseFormat,
                              maxNewTokens: options.maxNewTokens ?? maxNewTokens, temperature: options.temperature ?? temperature,
                              seed: options.seed ?? seed)
    }

    /// The prompts a unit over `document` runs, in order: every prompt, except that a prompt
    /// bound to one document (batch jobs) runs only there.
    public func promptIndices(forDocument document: String) -> [Int] {
        guard let promptOptions else { return Array(prompts.indices) }
        return prompts.indices.filter { promptOptions[$0].document.map { $0 == document } ?? true }
    }
}

extension UnitWork {
    /// The prompts this unit runs (`JobSpec.promptIndices(forDocument:)`).
    public var promptIndices: [Int] { spec.promptIndices(forDocument: documentPath) }
}

extension JobSpec {
    /// Made from an OpenAI batch file: every prompt answers one request (`custom_id`) over the
    /// document holding its leading messages.
    public var isBatch: Bool { promptOptions?.first?.customID != nil }
}
