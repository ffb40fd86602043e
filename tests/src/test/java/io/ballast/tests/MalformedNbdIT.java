package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** {@link MalformedNbdCases} against a node serving a local (unreplicated) volume. */
class MalformedNbdIT extends MalformedNbdCases {
    private BallastNodeProcess node;

    @BeforeAll
    void startNode() throws Exception {
        node = new BallastNodeProcess("node1", TestDirs.fresh("malformed").resolve("data"),
                List.of("--volume", "vol:64M")).start();
        writePattern();
    }

    @AfterAll
    void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    @Override
    Path socket() {
        return node.socket();
    }

    @Override
    String export() {
        return "vol";
    }

    @Override
    void assertServing() {
        assertTrue(node.isAlive(), "node died:\n" + node.logText());
    }
}
