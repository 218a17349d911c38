import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import StackCommands

struct TimingsHTMLTests {
    /// What an XML parser sees of the page: it must parse at all (well-formed XHTML), and its
    /// phase bars and every attribute are then checked one by one.
    final class Page: NSObject, XMLParserDelegate {
        struct Bar {
            var outcome: String
            var x: Double
            var y: Double
            var width: Double
            var title = ""
        }

        var bars: [Bar] = []
        var attributes: [(element: String, name: String, value: String)] = []
        var names: [String] = []
        private var text = ""
        private var inTitle = false

        init(_ html: String) throws {
            super.init()
            let parser = XMLParser(data: Data(html.utf8))
            parser.delegate = self
            guard parser.parse() else {
                throw ParseFailure(description: "line \(parser.lineNumber): \(parser.parserError.map { "\($0)" } ?? "?")")
            }
        }

        struct ParseFailure: Error, CustomStringConvertible {
            var description: String
        }

        func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            self.attributes += attributes.map { (element, $0.key, $0.value) }
            let classes = (attributes["class"] ?? "").split(separator: " ")
            if element == "rect", classes.contains("phase") {
                bars.append(Bar(outcome: String(classes.first { $0 != "phase" } ?? ""), x: Double(attributes["x"] ?? "") ?? -1,
                                y: Double(attributes["y"] ?? "") ?? -1, width: Double(attributes["width"] ?? "") ?? -1))
            }
            inTitle = element == "title" && !bars.isEmpty
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            text += string
        }

        func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
            if inTitle, element == "title" { bars[bars.count - 1].title = text }
            if element == "text", text.hasSuffix(" s") == false { names.append(text) }
            inTitle = false
        }
    }

    static func page(run id: String?) throws -> (html: String, run: TimingsRun) {
        let history = try TimingsFixture.history()
        let run = try #require(id.map { id in history.runs.first { $0.run == id } } ?? history.runs.last)
        return (TimingsHTML.page(run: run, history: history), run)
    }

    @Test(arguments: [nil, TimingsFixture.Run.sandboxCold, TimingsFixture.Run.sandboxFailed, TimingsFixture.Run.buildZedCold])
    func pageIsWellFormedWithOneBarPerPhase(run id: String?) throws {
        let (html, run) = try Self.page(run: id)
        let page = try Page(html)
        #expect(page.bars.count == run.phases.count)
        #expect(page.bars.map(\.outcome) == run.phases.sorted { $0.offset < $1.offset }.map(\.outcome.rawValue))
        #expect(page.bars.allSatisfy { $0.title.contains(" s, ") && $0.width >= 1 })
    }

    @Test func pageNeedsNothingFromOutside() throws {
        for id in [nil, TimingsFixture.Run.sandboxCold] {
            let (html, _) = try Self.page(run: id)
            for needle in ["http://", "https://", "src=", "href=", "url(", "@import", "<script", "<link"] {
                #expect(!html.lowercased().contains(needle), "the page contains \(needle)")
            }
            let page = try Page(html)
            #expect(page.attributes.allSatisfy { !["src", "href", "xlink:href", "action", "srcset"].contains($0.name.lowercased()) })
        }
    }

    /// With --jobs 2 the desktops ran side by side: separate rows, overlapping spans of time.
    @Test func overlappingPhasesSitOnSeparateRows() throws {
        let (html, run) = try Self.page(run: TimingsFixture.Run.sandboxCold)
        let page = try Page(html)
        let bars = Dictionary(uniqueKeysWithValues: zip(run.phases.sorted { $0.offset < $1.offset }.map(\.phase), page.bars))
        let ubuntu = try #require(bars["desktop:ubuntu"])
        let sway = try #require(bars["desktop:sway"])
        #expect(ubuntu.y != sway.y)
        #expect(ubuntu.x < sway.x + sway.width && sway.x < ubuntu.x + ubuntu.width)
        #expect(Set(page.bars.map(\.y)).count == page.bars.count)
        // sandbox:image starts when the longer desktop ends.
        let image = try #require(bars["sandbox:image"])
        #expect(abs(image.x - (ubuntu.x + ubuntu.width)) < 1)
    }

    @Test func textFromTheFileIsEscaped() throws {
        let hostile = "<script>alert(\"x\")</script> & 'friends'\u{1}"
        let history = try TimingsFixture.history([
            (TimingsFixture.record("r<1>", hostile, at: 0, 2, load: .loadedRegistry, command: "build&co"), nil),
            (TimingsFixture.record("r<1>", TimingRecord.totalPhase, at: 0, 2, command: "build&co"), nil),
        ])
        let html = TimingsHTML.page(run: history.runs[0], history: history)
        #expect(!html.contains("<script"))
        let page = try Page(html)
        #expect(page.bars.count == 1)
        #expect(page.names.contains("<script>alert(\"x\")</script> & 'friends'\u{FFFD}"))
    }

    @Test func axisTicksAreRoundNumbers() {
        #expect(TimingsHTML.tickStep(126.9) == 20)
        #expect(TimingsHTML.tickStep(234.4) == 50)
        #expect(TimingsHTML.tickStep(9.8) == 2)
        #expect(TimingsHTML.tickStep(4) == 0.5)
        #expect(TimingsHTML.tickStep(0) == 1)
    }
}
