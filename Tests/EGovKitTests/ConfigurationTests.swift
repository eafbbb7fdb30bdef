import EGovKit
import Foundation
import Testing

@Suite struct ConfigurationTests {
    let keys = ProcessSettings.keys(for: "documents", peers: ["identity"])

    func file(_ json: String) throws -> String {
        let path = temporaryPath("config.json")
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func flagsWinOverEnvironmentWhichWinsOverTheFile() throws {
        let path = try file(#"{"listen": {"port": 7000, "host": "127.0.0.2"}, "log": {"level": "debug"}}"#)
        let config = try Configuration.load(
            keys: keys, arguments: ["--config", path, "--listen.port=7002"],
            environment: ["EGOV_LISTEN_PORT": "7001", "EGOV_LOG_LEVEL": "warning"])
        #expect(config.int("listen.port") == 7002)
        #expect(config.string("log.level") == "warning")
        #expect(config.string("listen.host") == "127.0.0.2")
        #expect(config.string("peers.identity") == "127.0.0.1:7101")
        #expect(config.sources["listen.port"] == "--listen.port")
    }

    @Test func anUnknownKeyInTheFileIsAnErrorNamingIt() throws {
        let path = try file(#"{"listen": {"prot": 7000}}"#)
        #expect {
            try Configuration.load(keys: keys, arguments: ["--config", path], environment: [:])
        } throws: { error in
            "\(error)".contains("unknown key 'listen.prot'") && "\(error)".contains(path)
        }
    }

    @Test func anUnknownFlagIsAnError() {
        #expect {
            try Configuration.load(keys: keys, arguments: ["--databse.url=x"], environment: [:])
        } throws: { error in "\(error)".contains("unknown flag '--databse.url'") }
    }

    @Test(arguments: [
        ("--listen.port=seventy", "must be a whole number"),
        ("--listen.port=70000", "between 0 and 65535"),
        ("--tls.dev_pki=maybe", "true or false"),
        ("--log.level=loud", "must be one of"),
    ])
    func badValuesAreErrorsNamingTheKey(flag: String, message: String) {
        #expect {
            try Configuration.load(keys: keys, arguments: [flag], environment: [:])
        } throws: { error in
            "\(error)".contains(message) && "\(error)".contains(flag.dropFirst(2).split(separator: "=")[0])
        }
    }

    @Test func aBadPeerAddressIsAnError() throws {
        let config = try Configuration.load(keys: keys, arguments: ["--peers.identity=nowhere"], environment: [:])
        #expect(throws: ConfigError.self) { try ProcessSettings(name: "documents", config: config) }
    }

    @Test func unrelatedEnvironmentVariablesAreIgnored() throws {
        let config = try Configuration.load(
            keys: keys, arguments: [], environment: ["EGOV_SOMETHING_ELSE": "1", "HOME": "/root"])
        #expect(config.int("limits.max_concurrent_streams") == 256)
    }

    @Test func settingsDeriveTheDatabaseAndCertificatesFromTheDataDirectory() throws {
        let config = try Configuration.load(keys: keys, arguments: ["--data_dir=/srv/egov"], environment: [:])
        let settings = try ProcessSettings(name: "documents", config: config)
        #expect(settings.databaseURL == "sqlite:///srv/egov/documents.sqlite")
        #expect(settings.tls.certificate == "/srv/egov/pki/documents.pem")
        #expect(settings.peer("identity").port == 7101)
        #expect(settings.limits.maxMessageBytes == 4 << 20)
    }
}

func temporaryPath(_ name: String) -> String {
    let directory = NSTemporaryDirectory() + "egov-kit-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory + "/" + name
}
