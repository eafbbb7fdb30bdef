import EGovAPI
import EGovKit
import EGovStore
import EGovTestSupport
import Foundation
import GRPCCore
import SQLKit
import Testing

@Suite struct StatisticsTests {
    /// Outcomes are set in the store directly so each figure has a known answer; the database
    /// does the tallying, so both engines are checked.
    @Test(arguments: TestDatabases.engines)
    func figuresCountEachOutcomeOnTheProvincesDays(engine: Engine) async throws {
        try await withStack(engine: engine) { stack in
            try await seedCatalogue(stack)
            let store = stack.proceduresStore
            try await withTestClient(port: stack.ports["procedures"]!) { client in
                let procedures = Procedures(wrapping: client)
                var codes: [String] = []
                for index in 0..<6 {
                    codes.append(
                        try await procedures.submitDossier(
                            .with {
                                $0.parent = "procedures/1.001612.H41"
                                $0.dossier = .with {
                                    $0.channel = index < 2 ? .online : .inPerson; $0.applicant = "people/p\(index)"
                                }
                            }
                        ).code)
                }
                let hour: Int64 = 3_600_000_000
                let day = 24 * hour
                // 0: early (two days before), rated 5; 1: on the day, 23:30 local is still that day;
                // 2: late, rated 3; 3: refused; 4: processing, past its appointment; 5: processing.
                let changes: [(status: Int, finish: String, appointment: String, rating: Int)] = [
                    (10, "appointment_time - \(2 * day)", "appointment_time", 5),
                    (9, "appointment_time + \(6 * hour + hour / 2)", "appointment_time", 0),
                    (10, "appointment_time + \(day)", "appointment_time", 3),
                    (3, "NULL", "appointment_time", 0),
                    (4, "NULL", "\(WallClock.system.micros - day)", 0),
                    (4, "NULL", "appointment_time", 0),
                ]
                try await store.write { tx in
                    for (code, change) in zip(codes, changes) {
                        try await tx.database.execute(
                            SQLQueryString(
                                """
                                UPDATE dossiers SET status = \(unsafeRaw: String(change.status)), finish_time = \(unsafeRaw: change.finish),
                                    appointment_time = \(unsafeRaw: change.appointment), rating = \(unsafeRaw: String(change.rating))
                                WHERE code = '\(unsafeRaw: code)'
                                """))
                    }
                }
                let figures = try await procedures.getStatistics(
                    .with {
                        $0.agency = "agencies/000.00.06.H41"
                        $0.startTime = .init(date: Date().addingTimeInterval(-3600))
                        $0.endTime = .init(date: Date().addingTimeInterval(3600))
                    })
                let row = try #require(figures.procedures.first)
                #expect(figures.procedures.count == 1 && row.procedure == "procedures/1.001612.H41")
                #expect(
                    [
                        row.received, row.finishedEarly, row.finishedOnTime, row.finishedLate, row.closedWithoutResult,
                        row.pending, row.overdue,
                    ]
                        == [6, 1, 1, 1, 1, 2, 1])
                #expect(abs(row.onlineShare - 2.0 / 6) < 1e-9 && row.averageRating == 4)
                #expect(row.averageProcessingDays > 0)
                var total = figures.total
                total.procedure = row.procedure
                #expect(total == row)
                // Another period holds nothing.
                let empty = try await procedures.getStatistics(
                    .with {
                        $0.agency = "agencies/000.00.06.H41"; $0.startTime = .init(seconds: 0);
                        $0.endTime = .init(seconds: 1)
                    })
                #expect(empty.procedures.isEmpty && empty.total.received == 0)

                // The province's view: every agency, each with its total.
                try await withTestClient(port: stack.ports["identity"]!) { identity in
                    _ = try await Identity(wrapping: identity).createAgency(
                        .with { $0.agency = agency("000.00.10.H41", "Sở Tư pháp", abbreviation: "STP") })
                }
                _ = try await procedures.createProcedure(
                    .with {
                        $0.procedure = .with {
                            $0.code = "2.000908.H41"
                            $0.displayName = "Chứng thực bản sao từ bản chính"
                            $0.agency = "agencies/000.00.10.H41"
                            $0.mode = .partialOnline
                            $0.processingDays = 1
                        }
                    })
                _ = try await procedures.submitDossier(
                    .with {
                        $0.parent = "procedures/2.000908.H41"
                        $0.dossier = .with {
                            $0.channel = .online; $0.applicant = "people/p7"
                        }
                    })
                let province = try await procedures.getStatistics(
                    .with {
                        $0.agency = "agencies/-"
                        $0.startTime = .init(date: Date().addingTimeInterval(-3600))
                        $0.endTime = .init(date: Date().addingTimeInterval(3600))
                    })
                #expect(province.agencies.map(\.agency) == ["agencies/000.00.06.H41", "agencies/000.00.10.H41"])
                #expect(
                    province.agencies.map(\.received) == [6, 1] && province.total.received == 7
                        && province.total.agency.isEmpty)
                #expect(province.procedures.map(\.procedure) == ["procedures/1.001612.H41", "procedures/2.000908.H41"])
                #expect(abs(province.total.onlineShare - 3.0 / 7) < 1e-9)
            }
        }
    }
}
