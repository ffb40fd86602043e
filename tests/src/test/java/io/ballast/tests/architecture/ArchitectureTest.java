package io.ballast.tests.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.Test;

/**
 * The layering the design card states, checked on the compiled main classes of every module
 * (ArchUnit), so that it stays enforced: every package is free of cycles with every other, the
 * modules point one way (proto <- engine <- replication <- csi), and Ratis's types stay inside
 * replication.
 */
class ArchitectureTest {
    private static final JavaClasses MAIN = new ClassFileImporter()
            // Main classes only, whether they come as target/classes or as the modules' jars;
            // not this module's tests nor engine's test-jar.
            .withImportOption(location -> !location.contains("/test-classes/") && !location.contains("-tests.jar"))
            .importPackages("io.ballast");

    @Test
    void noPackageCycles() {
        slices().matching("io.ballast.(**)").should().beFreeOfCycles().check(MAIN);
    }

    @Test
    void modulesPointOneWay() {
        noClasses().that().resideInAPackage("io.ballast.engine..")
                .should().dependOnClassesThat().resideInAnyPackage("io.ballast.replication..", "io.ballast.csi..",
                        "io.ballast.cli..", "io.ballast.cluster..", "io.ballast.daemon..", "io.ballast.admin..",
                        "io.ballast.volumes..", "io.ballast.metrics..")
                .check(MAIN);
        noClasses().that().resideInAPackage("io.ballast.replication..")
                .should().dependOnClassesThat().resideInAnyPackage("io.ballast.csi..", "io.ballast.cli..",
                        "io.ballast.cluster..", "io.ballast.daemon..", "io.ballast.admin..", "io.ballast.volumes..",
                        "io.ballast.metrics..")
                .check(MAIN);
    }

    /**
     * Replication's sub-packages (entry formats, checkpoints, rebuild, snapshots, the state machine,
     * membership, the write path, the catalog) are the parts; the package itself is the node that
     * hosts them, and no part reaches back to it.
     */
    @Test
    void replicationPartsDoNotReachTheNode() {
        noClasses().that().resideInAPackage("io.ballast.replication.(*)..")
                .should().dependOnClassesThat().resideInAPackage("io.ballast.replication")
                .check(MAIN);
    }

    @Test
    void ratisStaysInsideReplication() {
        noClasses().that().resideOutsideOfPackage("io.ballast.replication..")
                .should().dependOnClassesThat().resideInAPackage("org.apache.ratis..")
                .check(MAIN);
    }
}
