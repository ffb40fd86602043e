package io.ballast.cli;

import io.ballast.csi.identity.BallastVersion;
import io.ballast.engine.error.BallastException;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The single entry point of the one Ballast jar: {@code ballast node}, later {@code controller},
 * {@code all} and the CLI verbs. Exit codes: 0 ok, 1 runtime failure, 2 bad usage.
 */
@Command(name = "ballast",
        mixinStandardHelpOptions = true,
        versionProvider = BallastVersion.class,
        description = "Replicated block storage for Kubernetes.",
        subcommands = {NodeCommand.class, ControllerCommand.class, DevCommand.class, StatusCommand.class, VolumeCommand.class,
            BackupCommand.class, CertsCommand.class,
            FdKeeperCommand.class, CommandLine.HelpCommand.class})
public final class BallastMain {

    public static void main(String[] args) {
        // Libraries that log through java.util.logging (Ratis's shaded gRPC and Netty) go to the same
        // SLF4J backend and levels as everything else (simplelogger.properties), not to stderr in
        // JUL's own two-line format.
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        System.exit(run(args));
    }

    /** Runs a command line and returns the exit code (tests call this directly). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new BallastMain());
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            // Domain errors carry a message a person can act on: print it, no stack trace, after the
            // whole command's name ("ballast node drain: ..."), not its last word alone.
            String name = cmd.getCommandSpec().qualifiedName(" ");
            if (ex instanceof BallastException be) {
                cmd.getErr().println(name + ": " + be.code() + ": " + be.getMessage());
                return 1;
            }
            if (ex instanceof CliFailure f) {
                cmd.getErr().println(name + ": " + f.getMessage());
                return f.exitCode();
            }
            throw ex;
        });
        return cli.execute(args);
    }
}
