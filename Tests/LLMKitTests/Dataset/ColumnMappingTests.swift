import Foundation
import Testing
@testable import LLMKit

@Suite struct ColumnMappingTests {
    static func write(_ text: String, _ name: String) throws -> String {
        let path = TestPaths.temporaryDirectory().appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let lab = ColumnMapping(idColumn: "utt", emotionColumns: [
        .init(column: "Anger", emotion: .angry), .init(column: "Happiness", emotion: .happy), .init(column: "Neutral", emotion: .neutral),
    ], descriptionsColumn: "notes", descriptionsSeparator: ";", keepColumns: ["speaker"], votes: .counts)

    @Test func aCSVTableIsReadByTheMappingWithSeekByOffset() throws {
        let path = try Self.write(#"""
            speaker,utt,Happiness,notes,Anger,Neutral,unused
            s1,u1,2,"calm; Haaapy ;",1,1,x
            s2,u2,0,,3,0,y
            s3,u3,0,"tense, ""very""",0,4,z

            """#, "lab.csv")
        let reader = try DatasetReader(path: path, mapping: Self.lab)
        let first = try #require(try reader.next())
        #expect(first.id == "u1" && first.descriptions == ["calm", "Haaapy"] && first.keep["speaker"]?.stringValue == "s1")
        // Counts 1 angry, 2 happy, 1 neutral: shares 0.25, 0.5, 0.25.
        #expect(first.reference[.angry] == 0.25 && first.reference[.happy] == 0.5 && first.reference[.neutral] == 0.25 && first.reference[.sad] == 0)
        _ = try reader.next()
        let third = try #require(try reader.next())
        let offset = reader.lastOffset
        #expect(third.descriptions == ["tense, \"very\""] && third.reference[.neutral] == 1)
        #expect(try reader.next() == nil)
        try reader.seek(to: offset)
        #expect(try reader.next() == third)
        #expect(try DatasetReader.countItems(path: path, mapping: Self.lab) == 3)
    }

    @Test func tsvAndJSONLTablesReadTheSameItems() throws {
        let tsv = try Self.write("utt\tspeaker\tAnger\tHappiness\tNeutral\tnotes\nu1\ts1\t1\t2\t1\tcalm;Haaapy\n", "lab.tsv")
        let jsonl = try Self.write(#"{"utt": 1, "speaker": "s1", "Anger": 1, "Happiness": 2, "Neutral": 1, "notes": ["calm", "Haaapy"]}"# + "\n", "lab.jsonl")
        let a = try DatasetReader(path: tsv, mapping: Self.lab).readAll()
        let b = try DatasetReader(path: jsonl, mapping: Self.lab).readAll()
        #expect(a.count == 1 && a.map(\.reference) == b.map(\.reference) && a.map(\.descriptions) == b.map(\.descriptions))
        #expect(a[0].id == "u1" && b[0].id == "1" && b[0].keep["speaker"]?.stringValue == "s1")
    }

    /// Counts must be whole, proportions must sum to 1, auto takes either; a row that is
    /// neither is refused with file:line:column, the column's name and the cause.
    @Test func votesAreCountsOrProportionsAndARowThatIsNeitherIsRefused() throws {
        let path = try Self.write("utt,Anger,Happiness,Neutral\nu1,0.25,0.5,0.25\nu2,1,1,0\nu3,0.5,0.9,0\n", "votes.csv")
        func read(_ scale: ColumnMapping.VoteScale) -> (items: [DatasetItem], error: DatasetError?) {
            var mapping = Self.lab
            (mapping.descriptionsColumn, mapping.descriptionsSeparator, mapping.keepColumns, mapping.votes) = (nil, nil, [], scale)
            var items: [DatasetItem] = []
            do {
                let reader = try DatasetReader(path: path, mapping: mapping)
                while let item = try reader.next() { items.append(item) }
                return (items, nil)
            } catch { return (items, error) }
        }
        let counts = read(.counts)
        #expect(counts.items.isEmpty && counts.error?.description.hasSuffix("votes.csv:2:2: field 'Anger': '0.25' is not a whole number of votes (the mapping says counts; --votes proportions for shares)") == true, "\(String(describing: counts.error))")
        let shares = read(.proportions)
        #expect(shares.items.count == 1 && shares.error?.line == 3 && shares.error?.reason.contains("sum to 2") == true)
        let auto = read(.auto)
        #expect(auto.items.count == 2 && auto.items[1].reference[.angry] == 0.5 && auto.error?.line == 4)
        #expect(auto.error?.reason.contains("neither vote counts (whole numbers) nor proportions (the values sum to 1.4") == true, "\(String(describing: auto.error))")
    }

    /// A reader tallies how it read each row, so a run can say which reading `auto` chose:
    /// whole numbers are counts (a single vote too), any other accepted row proportions.
    @Test func theReaderTalliesRowsReadAsCountsAndAsProportions() throws {
        let path = try Self.write("utt,Anger,Happiness,Neutral\nu1,0.25,0.5,0.25\nu2,1,1,0\nu3,0,1,0\nu4,0.5,0.5,0\n", "tally.csv")
        var mapping = Self.lab
        (mapping.descriptionsColumn, mapping.descriptionsSeparator, mapping.keepColumns, mapping.votes) = (nil, nil, [], .auto)
        let reader = try DatasetReader(path: path, mapping: mapping)
        #expect(reader.votes == ColumnMapping.VoteTally(scale: .auto))
        _ = try reader.readAll()
        #expect(reader.votes == ColumnMapping.VoteTally(scale: .auto, counts: 2, proportions: 2))
        #expect(reader.votes?.sentence == "votes: 2 rows read as counts, 2 rows as proportions (the mapping says auto: --votes counts or --votes proportions to insist)")
        // A run's scan reads the whole file but states the rows within its limit.
        let scan = try DatasetScan(path: path, format: nil, mapping: mapping, policy: .default, limit: 2, keepFirst: 0)
        #expect(scan.items == 4 && scan.votes == ColumnMapping.VoteTally(scale: .auto, counts: 1, proportions: 1), "\(String(describing: scan.votes))")
        mapping.votes = .proportions
        let sharesPath = try Self.write("utt,Anger,Happiness,Neutral\nu1,0.25,0.5,0.25\nu3,0,1,0\nu4,0.5,0.5,0\n", "shares.csv")
        let shares = try DatasetReader(path: sharesPath, mapping: mapping)
        _ = try shares.readAll()
        #expect(shares.votes == ColumnMapping.VoteTally(scale: .proportions, counts: 0, proportions: 3))
        #expect(shares.votes?.sentence == "votes: read as proportions, each row summing to 1 (all 3 rows; the mapping says proportions)")
        // The project's own formats hold no vote table.
        let jsonl = try Self.write(#"{"id": "a", "descriptions": [], "votes": ["A"]}"# + "\n", "own.jsonl")
        let own = try DatasetReader(path: jsonl)
        _ = try own.readAll()
        #expect(own.votes == nil)
    }

    @Test func aMissingColumnNamesTheColumnsThereAre() throws {
        let path = try Self.write("utt,speaker,Anger,Happiness,Neutral,words\nu1,s,1,0,0,x\n", "renamed.csv")
        #expect {
            _ = try DatasetReader(path: path, mapping: Self.lab)
        } throws: { error in
            let description = (error as? DatasetError)?.description ?? ""
            return description.contains("renamed.csv:1: field 'notes': no column 'notes' (the descriptions) in the header; the columns are: utt, speaker, Anger, Happiness, Neutral, words")
        }
    }

    @Test func aMappingThatContradictsItselfIsRefused() {
        var twice = Self.lab
        twice.emotionColumns.append(.init(column: "Joy", emotion: .happy))
        #expect(throws: DatasetError.self) { try twice.check(source: "m.yaml") }
        var clash = Self.lab
        clash.keepColumns = ["reason"]
        #expect { try clash.check(source: "m.yaml") } throws: { ($0 as? DatasetError)?.reason.contains("export writes its own") == true }
        var reused = Self.lab
        reused.keepColumns = ["Anger"]
        #expect { try reused.check(source: "m.yaml") } throws: { ($0 as? DatasetError)?.reason.contains("named twice") == true }
    }

    @Test func theMappingRoundTripsThroughItsJSONInOrder() {
        let json = Self.lab.json
        #expect(ColumnMapping(json: json) == Self.lab)
        #expect(json["emotions"]?.objectValue?.keys == ["Anger", "Happiness", "Neutral"])
        #expect(Self.lab.arguments.map(ColumnMapping.shellQuoted).joined(separator: " ")
                == "--id-column utt --emotion-columns Anger=angry,Happiness=happy,Neutral=neutral --descriptions-column notes --descriptions-separator ';' --keep-columns speaker --votes counts")
    }

    @Test func aProposalFindsTheEmotionsTheIdTheDescriptionsAndTheirSeparator() throws {
        let path = try Self.write("utterance_id,speaker,transcript,Anger,Sad,hap,neu,notes\nu1,s,t,1,0,0,2,calm;tense\nu2,s,t,0,1,1,0,x;y\n", "p.csv")
        let proposal = try #require(try ColumnMapping.propose(path: path, format: .csv, policy: .default))
        let m = proposal.mapping
        #expect(m.idColumn == "utterance_id" && m.descriptionsColumn == "notes" && m.descriptionsSeparator == ";" && m.votes == .counts)
        #expect(m.emotionColumns.map(\.emotion) == [.angry, .sad, .happy, .neutral] && m.keepColumns == ["speaker", "transcript"])
        #expect(!proposal.isExport)
    }

    /// One-letter codes are emotions only in a header of codes: beside emotion names, a column
    /// 'N' (a count) is carried, not taken as neutral.
    @Test func oneLetterColumnsAreEmotionsOnlyWhenNoColumnNamesOneInWords() {
        let named = ColumnMapping.propose(header: ["id", "N", "Anger", "Neutral", "H"])
        #expect(named?.emotionColumns.map(\.column) == ["Anger", "Neutral"] && named?.keepColumns == ["N", "H"], "\(String(describing: named))")
        let codes = ColumnMapping.propose(header: ["id", "A", "N", "H"])
        #expect(codes?.emotionColumns.map(\.emotion) == [.angry, .neutral, .happy], "\(String(describing: codes))")
    }

    /// One alias table wherever a name is read: `Happy` as a reference key (refused before),
    /// IEMOCAP's three letters; a key named twice and an unknown key list what is accepted.
    @Test func oneAliasTableForVotesReferenceKeysAndMappings() throws {
        let values = try EmotionDistribution.rawValues(from: try StrictJSON.parse(#"{"Happy": 0.5, "ANG": 0.25, "Neutral": 0.25}"#))
        #expect(values == [0.25, 0, 0, 0, 0, 0.25, 0, 0.5])
        #expect(Emotion(anyName: "Happiness") == .happy && Emotion(anyName: "joy") == .happy && Emotion(anyName: "hap") == .happy)
        #expect(Emotion(anyName: "Other") == nil)
        #expect { try EmotionDistribution.rawValues(from: try StrictJSON.parse(#"{"angry": 0.5, "Anger": 0.5}"#)) } throws: {
            "\($0)".contains("'angry' and 'Anger' both name angry")
        }
        #expect { try EmotionDistribution.rawValues(from: try StrictJSON.parse(#"{"rage": 1}"#)) } throws: {
            "\($0)".contains("unknown emotion key 'rage' (accepted, any case: angry (anger, ang, A), sad (sadness, S)")
        }
    }

    /// A prompt version uses a carried column: declared in the header, written by the item
    /// section; what is not declared or not used fails at load with the line.
    @Test func aPromptWritesACarriedColumnDeclaredInItsHeader() throws {
        let text = """
            ---
            columns: transcript
            ---
            === system ===
            Relabel.
            === item ===
            {{descriptions}} (said: {{transcript}})
            """
        let version = try PromptVersion.parse(text, file: "t.prompt", defaultName: "t")
        var item = DatasetItem(id: "a", descriptions: ["calm"], reference: EmotionDistribution(oneHot: .neutral))
        item.keep["transcript"] = "I # said {so}"
        #expect(version.dataPoint(number: 1, item) == "1. calm (said: I said (so))#0.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0")
        #expect(version.id != (try PromptVersion.parse(text.replacingOccurrences(of: "(said", with: "(spoken"), file: "t.prompt", defaultName: "t")).id)
        func loadError(_ text: String) -> String {
            do { _ = try PromptVersion.parse(text, file: "t.prompt", defaultName: "t"); return "" } catch { return error.description }
        }
        #expect(loadError(text.replacingOccurrences(of: "columns: transcript", with: "columns: speaker")).contains("t.prompt:7: unknown placeholder {{transcript}} in the item section"))
        #expect(loadError(text.replacingOccurrences(of: " (said: {{transcript}})", with: "")).contains("declares the column 'transcript' but the item section does not use"))
        #expect(loadError(text.replacingOccurrences(of: "Relabel.", with: "Relabel {{transcript}}.")).contains("t.prompt:5: {{transcript}} is only allowed in the item section"))
        // Without columns, the ids stay what they were.
        let plain = try PromptVersion.parse("=== system ===\nRelabel.\n", file: "p.prompt", defaultName: "p")
        #expect(plain.columns.isEmpty && plain.itemTemplate == nil && plain.dataPoint(number: 1, item) == "1. calm#0.0,0.0,0.0,0.0,0.0,1.0,0.0,0.0")
    }
}
