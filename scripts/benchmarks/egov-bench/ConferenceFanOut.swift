import ConferencesService
import EGovAPI
import EGovKit
import EGovTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import IdentityService
import Synchronization

extension Bench {
    /// A live conference's events fanned out to `watchers` WatchConference streams over mTLS:
    /// identity and conferences as their processes run (EGovProcess, SQLite), the chair
    /// granting and revoking the floor `events` times one after another. Prints deliveries
    /// per second and the latency from the chair's call to each watcher's receipt.
    nonisolated static func conferenceFanOut(watchers: Int, events: Int) async throws {
        let verifier = TokenVerifier()
        try await withProcess(
            "identity", keys: IdentityApp.keys, arguments: ["--password.scrypt_log_n=10"], verifier: verifier,
            build: IdentityApp.build
        ) { identity in
            let committee = "agencies/000.00.00.H41"
            let (chair, token) = try await withTestClient(port: identity.port) { client in
                let identity = Egov_Identity_V1_IdentityService.Client(wrapping: client)
                _ = try await identity.createAgency(
                    .with {
                        $0.agency = .with {
                            $0.code = "000.00.00.H41"; $0.displayName = "Ủy ban nhân dân tỉnh"; $0.abbreviation = "UBND"
                            $0.kind = .provincialPeoplesCommittee
                        }
                    })
                let person = try await identity.createOfficial(
                    .with {
                        $0.person = .with {
                            $0.displayName = "Chủ tịch"; $0.email = "ct@ubnd.vn"; $0.agency = committee;
                            $0.roles = [.leader]
                        }
                        $0.password = "mật khẩu đủ dài 2026"
                    })
                let session = try await identity.login(
                    .with {
                        $0.login = "ct@ubnd.vn"; $0.password = "mật khẩu đủ dài 2026"
                    })
                return (person.name, session.accessToken)
            }
            let session: Metadata = ["authorization": "Bearer \(token)"]
            try await withProcess(
                "conferences", keys: ConferencesApp.keys,
                arguments: ["--peers.identity=127.0.0.1:\(identity.port)"], verifier: verifier,
                build: ConferencesApp.build
            ) { process in
                try await withTestClient(port: process.port) { client in
                    let conferences = Egov_Conferences_V1_ConferencesService.Client(wrapping: client)
                    let hall = try await conferences.createBridgePoint(
                        .with {
                            $0.bridgePoint = .with {
                                $0.agency = committee; $0.displayName = "Hội trường"
                            }
                        }
                    ).name
                    let meeting = try await conferences.createConference(
                        .with {
                            $0.conference = .with {
                                $0.title = "Hội nghị đo tải"; $0.hostAgency = committee; $0.chair = chair
                                $0.kind = .withLocalBridgePoints; $0.bridgePoints = [hall]
                                $0.startTime = .init(date: Date().addingTimeInterval(60))
                            }
                        }, metadata: session)
                    let live = try await conferences.startConference(
                        .with { $0.name = meeting.name }, metadata: session)
                    let log = FanOutLog()
                    let (name, from) = (meeting.name, live.lastSequence)
                    let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
                        for _ in 0..<watchers {
                            group.addTask {
                                try await conferences.watchConference(
                                    .with {
                                        $0.name = meeting.name; $0.afterSequence = live.lastSequence
                                    },
                                    metadata: session
                                ) { response in
                                    log.subscribed.withLock { $0 += 1 }
                                    var received: [(Int64, ContinuousClock.Instant)] = []
                                    for try await event in response.messages {
                                        received.append((event.sequence, .now))
                                    }
                                    return log.sent.withLock { sent in
                                        received.compactMap { sequence, at in sent[sequence].map { at - $0 } }
                                    }
                                }
                            }
                        }
                        while log.subscribed.withLock({ $0 }) < watchers {
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        // Let the streams reach their first read before the first event.
                        try await Task.sleep(for: .milliseconds(500))
                        let start = ContinuousClock.now
                        for index in 0..<events {
                            let before = ContinuousClock.now
                            let after = try await conferences.actInConference(
                                .with {
                                    $0.name = meeting.name; $0.action = index % 2 == 0 ? .grantFloor : .revokeFloor
                                    $0.participant = index % 2 == 0 ? hall : ""
                                }, metadata: session)
                            log.sent.withLock { $0[after.lastSequence] = before }
                        }
                        let before = ContinuousClock.now
                        let ended = try await conferences.endConference(
                            .with { $0.name = meeting.name }, metadata: session)
                        log.sent.withLock { $0[ended.lastSequence] = before }
                        var all: [Duration] = []
                        for try await latencies in group { all += latencies }
                        let elapsed = ContinuousClock.now - start
                        return (all, elapsed)
                    }
                    let sorted = latencies.0.sorted()
                    func percentile(_ p: Double) -> Double {
                        sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))].milliseconds
                    }
                    print(
                        String(
                            format:
                                "conferences: %d events fanned out to %d watchers: %.0f deliveries/s, latency p50 %.2f ms, p99 %.2f ms (%d deliveries)",
                            events + 1, watchers, Double(sorted.count) / (latencies.1.milliseconds / 1000),
                            percentile(0.5), percentile(0.99), sorted.count))
                }
            }
        }
    }
}

/// When each event was asked for, and how many streams are open, shared with the watchers.
final class FanOutLog: Sendable {
    let sent = Mutex<[Int64: ContinuousClock.Instant]>([:])
    let subscribed = Mutex(0)
}
