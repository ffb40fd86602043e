package io.ballast.csi.identity;

import picocli.CommandLine.IVersionProvider;

/** The version stamped into the jar's manifest by the build ("dev" when run from classes). */
public final class BallastVersion implements IVersionProvider {
    public static String version() {
        String v = BallastVersion.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    @Override
    public String[] getVersion() {
        return new String[] {"ballast " + version(), "java " + Runtime.version()};
    }
}
