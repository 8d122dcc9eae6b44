import Foundation
import Testing
import Tokenizer

/// ChatTemplate against the strings the real Jinja templates render (jinja2, via
/// tools/fixtures/make-chat-template-fixtures.py) and against strings derived by hand.
@Suite struct ChatTemplateTests {
    struct Fixture: Decodable {
        struct Template: Decodable {
            let name: String
            let source: String
            let renders: [Render]
        }

        struct Render: Decodable {
            let messages: [ChatMessage]
            let addGenerationPrompt: Bool
            let text: String
        }

        let templates: [Template]
    }

    static let expectedKinds: [String: ChatTemplate] = [
        "smollm2": .chatML(defaultSystemMessage: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"),
        "qwen2": .chatML(defaultSystemMessage: "You are a helpful assistant"),
        "llama3": .llama3,
    ]

    @Test func rendersAsJinjaDoes() throws {
        let fixture = try PeerFixtures.load(Fixture.self, "chat-templates.json")
        #expect(fixture.templates.map(\.name).sorted() == Self.expectedKinds.keys.sorted())
        for template in fixture.templates {
            let chat = ChatTemplate(jinjaSource: template.source)
            #expect(chat == Self.expectedKinds[template.name], "\(template.name) detected as \(chat)")
            #expect(template.renders.count >= 14)
            for r in template.renders {
                #expect(chat.render(r.messages, addGenerationPrompt: r.addGenerationPrompt) == r.text,
                        "\(template.name) \(r.messages) generation prompt \(r.addGenerationPrompt)")
            }
        }
    }

    @Test func smolLM2ByHand() throws {
        let chat = try TestAssets.smol().chatTemplate
        let rendered = chat.render([ChatMessage(role: "user", content: "Summarize the licence.")], addGenerationPrompt: true)
        #expect(rendered == """
            <|im_start|>system
            You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
            <|im_start|>user
            Summarize the licence.<|im_end|>
            <|im_start|>assistant

            """)
        let withSystem = chat.render([ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")],
                                     addGenerationPrompt: false)
        #expect(withSystem == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    /// The rendered prompt tokenizes with the chat markers as single control tokens.
    @Test func renderedPromptTokenizesToControlTokens() throws {
        let tokenizer = try TestAssets.smol()
        let ids = tokenizer.encode(tokenizer.chatTemplate.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true))
        #expect(ids.filter { $0 == 1 }.count == 3) // <|im_start|> system, user, assistant
        #expect(ids.filter { $0 == 2 }.count == 2) // <|im_end|>
        #expect(ids.last == 198) // "\n" after "assistant"
    }

    @Test func llama3ByHand() {
        let rendered = ChatTemplate.llama3.render([ChatMessage(role: "user", content: " \tWhat?\n")], addGenerationPrompt: true)
        #expect(rendered == "<|start_header_id|>user<|end_header_id|>\n\nWhat?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    }

    @Test func detection() {
        #expect(ChatTemplate(jinjaSource: nil) == .raw)
        #expect(ChatTemplate(jinjaSource: "{{ messages[0]['content'] }}") == .raw)
        #expect(ChatTemplate(jinjaSource: "chatml") == .chatML(defaultSystemMessage: nil))
        #expect(ChatTemplate(jinjaSource: "llama3") == .llama3)
        // ChatML without a default system message; Phi-4 and SmolVLM use <|im_start|> differently.
        #expect(ChatTemplate(jinjaSource: "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n'}}{% endfor %}")
            == .chatML(defaultSystemMessage: nil))
        #expect(ChatTemplate(jinjaSource: "<|im_start|>{{ role }}<|im_sep|>") == .raw)
        #expect(ChatTemplate(jinjaSource: "<|im_start|>User:<end_of_utterance>") == .raw)
    }

    @Test func rawConcatenatesContents() {
        let messages = [ChatMessage(role: "system", content: "A. "), ChatMessage(role: "user", content: "B\n")]
        #expect(ChatTemplate.raw.render(messages, addGenerationPrompt: true) == "A. B\n")
        #expect(ChatTemplate.raw.render([], addGenerationPrompt: false) == "")
    }
}
