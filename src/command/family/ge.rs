//! The Generic Enabler commands:
//! `/ge catalog|install|upgrade|scale|autoscale|status|list|history|uninstall`
//! and `/rollback`.
//!
//! Each entry is one command: its spec row (words, arguments, help, access) and its builder.

use super::super::build::{Args, Built};
use super::super::spec::{Access, Fallback, Flag, Group, Opt, Pos, Spec};
use super::super::types::Command;
use super::super::value::Kind;

pub(super) const GE: Pos = Pos {
    key: "ge",
    placeholder: "GE",
    noun: "GE name",
    kind: Kind::Label,
    min: 1,
    max: 1,
    unique: false,
    about: "the Generic Enabler, by its catalogue name (see /ge catalog), such as orion",
};

pub(super) const NS: Opt = Opt {
    key: "ns",
    placeholder: "NS",
    noun: "namespace",
    kind: Kind::Label,
    required: false,
    fallback: Fallback::Note("the room's namespace"),
    about: "Kubernetes namespace",
};

pub(super) const CLUSTER: Opt = Opt {
    key: "cluster",
    placeholder: "NAME",
    noun: "cluster name",
    kind: Kind::Label,
    required: false,
    fallback: Fallback::Note("the room's current cluster (see /cluster use)"),
    about: "cluster to act on",
};

const VERSION: Opt = Opt {
    key: "version",
    placeholder: "TAG",
    noun: "version",
    kind: Kind::Tag,
    required: false,
    fallback: Fallback::Note("the catalogue's version"),
    about: "image tag to deploy",
};

const REPLICAS: Opt = Opt {
    key: "replicas",
    placeholder: "N",
    noun: "replica count",
    kind: Kind::Int { min: 0, max: 20 },
    required: false,
    fallback: Fallback::Note("the catalogue's default"),
    about: "number of pods",
};

const SCOPE: &[Opt] = &[NS, CLUSTER];

const ROLLBACK_OPTIONS: &[Opt] = &[
    NS,
    CLUSTER,
    Opt {
        key: "to",
        placeholder: "REVISION",
        noun: "revision",
        kind: Kind::Int {
            min: 1,
            max: 1_000_000,
        },
        required: false,
        fallback: Fallback::Note("the revision before the current one"),
        about: "revision to return to (see /ge history)",
    },
];

const ROLLBACK_DETAILS: &str = "Returns an installed Generic Enabler to an earlier revision of \
its release: the previous one, or the one given with to= (/ge history lists them). Runs as a job.";

/// This family's commands, in the order `/help` lists them.
pub(super) static SPECS: &[Spec] = &[
    Spec {
        path: "ge catalog",
        aliases: &[],
        group: Group::Enablers,
        summary: "list the Generic Enablers that can be installed",
        details: "Lists the catalogue: each Generic Enabler's name (the GE in other commands), \
            its default version and what it needs.",
        positionals: &[],
        options: &[],
        flags: &[],
        examples: &["/ge catalog"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: ge_catalog,
    },
    Spec {
        path: "ge install",
        aliases: &[],
        group: Group::Enablers,
        summary: "install a Generic Enabler",
        details: "Installs a Generic Enabler from the catalogue into a namespace of a cluster. \
            Runs as a job. With expose=nodeport its service is reachable on every node's address. \
            Other NAME=VALUE pairs set the Generic Enabler's own parameters, which /ge catalog \
            lists (log_level=INFO); some are required, such as the credentials Keyrock issued \
            for Wilma. A password is written only into the cluster's Secret, never into \
            labkube's records, logs or replies.",
        positionals: &[GE],
        options: &[
            NS,
            VERSION,
            REPLICAS,
            CLUSTER,
            Opt {
                key: "expose",
                placeholder: "nodeport",
                noun: "exposure",
                kind: Kind::Keyword("nodeport"),
                required: false,
                fallback: Fallback::Note("reachable inside the cluster only"),
                about: "make the service reachable from outside the cluster",
            },
        ],
        flags: &[],
        examples: &[
            "/ge install orion",
            "/ge install orion ns=demo version=4.1.0 replicas=2",
            "/ge install orion log_level=INFO",
        ],
        access: Access::Operator,
        mutating: true,
        ge_params: true,
        build: ge_install,
    },
    Spec {
        path: "ge upgrade",
        aliases: &[],
        group: Group::Enablers,
        summary: "move an installed Generic Enabler to another version",
        details: "Upgrades (or downgrades) an installed Generic Enabler to the given image tag, \
            keeping its settings and data. Runs as a job; /rollback undoes it.",
        positionals: &[GE],
        options: &[
            Opt {
                required: true,
                fallback: Fallback::Nothing,
                ..VERSION
            },
            NS,
            CLUSTER,
        ],
        flags: &[],
        examples: &["/ge upgrade orion version=4.1.1"],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: ge_upgrade,
    },
    Spec {
        path: "ge scale",
        aliases: &[],
        group: Group::Enablers,
        summary: "change the number of pods of a Generic Enabler",
        details: "Sets the replica count of an installed Generic Enabler; 0 stops it while \
            keeping its data.",
        positionals: &[GE],
        options: &[
            Opt {
                required: true,
                fallback: Fallback::Nothing,
                ..REPLICAS
            },
            NS,
            CLUSTER,
        ],
        flags: &[],
        examples: &["/ge scale orion replicas=3"],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: ge_scale,
    },
    Spec {
        path: "ge autoscale",
        aliases: &[],
        group: Group::Enablers,
        summary: "let Kubernetes scale a Generic Enabler with its CPU use",
        details: "Puts a HorizontalPodAutoscaler on a stateless Generic Enabler: Kubernetes \
            keeps between min and max pods (within the catalogue's replica bounds), adding pods \
            when their average CPU use passes cpu percent of what they request. Needs \
            metrics-server on the cluster (clusters labkube creates have it). Upgrades and \
            rollbacks keep the autoscaler and leave the pod count to it; /ge scale is refused \
            while it runs. off removes it and keeps the pods there are.",
        positionals: &[GE],
        options: &[
            Opt {
                key: "min",
                placeholder: "N",
                noun: "fewest pods",
                kind: Kind::Int { min: 1, max: 20 },
                required: true,
                fallback: Fallback::Nothing,
                about: "fewest pods",
            },
            Opt {
                key: "max",
                placeholder: "M",
                noun: "most pods",
                kind: Kind::Int { min: 1, max: 20 },
                required: true,
                fallback: Fallback::Nothing,
                about: "most pods",
            },
            Opt {
                key: "cpu",
                placeholder: "PERCENT",
                noun: "CPU target",
                kind: Kind::Int { min: 10, max: 100 },
                required: false,
                fallback: Fallback::Value("80"),
                about: "average CPU use to aim for, percent of the pods' CPU requests",
            },
            NS,
            CLUSTER,
        ],
        flags: &[Flag {
            word: "off",
            about: "remove the autoscaler, keeping the current pod count (instead of min=, max= and cpu=)",
            instead_of: &["min", "max", "cpu"],
        }],
        examples: &[
            "/ge autoscale orion min=1 max=4",
            "/ge autoscale orion min=2 max=5 cpu=60 ns=demo",
            "/ge autoscale orion off",
        ],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: ge_autoscale,
    },
    Spec {
        path: "ge status",
        aliases: &[],
        group: Group::Enablers,
        summary: "show the state of an installed Generic Enabler",
        details: "Shows the version, revision, pods and their readiness, and the service \
            addresses of an installed Generic Enabler.",
        positionals: &[GE],
        options: SCOPE,
        flags: &[],
        examples: &["/ge status orion", "/ge status orion ns=demo cluster=lab-1"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: ge_status,
    },
    Spec {
        path: "ge list",
        aliases: &[],
        group: Group::Enablers,
        summary: "list the installed Generic Enablers",
        details: "Lists the Generic Enablers installed in a namespace (with ns=), or in every \
            namespace of the cluster, with version, revision and state.",
        positionals: &[],
        options: SCOPE,
        flags: &[],
        examples: &["/ge list", "/ge list ns=demo"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: ge_list,
    },
    Spec {
        path: "ge history",
        aliases: &[],
        group: Group::Enablers,
        summary: "list the revisions of an installed Generic Enabler",
        details: "Lists the revisions of a Generic Enabler's release (install, upgrades, \
            rollbacks) with their versions; a revision number can be given to /rollback to=.",
        positionals: &[GE],
        options: SCOPE,
        flags: &[],
        examples: &["/ge history orion"],
        access: Access::Viewer,
        mutating: false,
        ge_params: false,
        build: ge_history,
    },
    Spec {
        path: "ge uninstall",
        aliases: &[],
        group: Group::Enablers,
        summary: "remove an installed Generic Enabler",
        details: "Removes a Generic Enabler from its namespace. Its persistent volumes (its data) \
            are kept unless purge is given. Runs as a job.",
        positionals: &[GE],
        options: SCOPE,
        flags: &[Flag {
            word: "purge",
            about: "also delete its persistent volumes (its data)",
            instead_of: &[],
        }],
        examples: &["/ge uninstall orion", "/ge uninstall orion ns=demo purge"],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: ge_uninstall,
    },
    Spec {
        path: "rollback",
        aliases: &["ge rollback"],
        group: Group::Enablers,
        summary: "return a Generic Enabler to an earlier revision",
        details: ROLLBACK_DETAILS,
        positionals: &[GE],
        options: ROLLBACK_OPTIONS,
        flags: &[],
        examples: &["/rollback orion", "/ge rollback orion to=3"],
        access: Access::Operator,
        mutating: true,
        ge_params: false,
        build: rollback,
    },
];

fn ge_catalog(_: &mut Args) -> Built {
    Ok(Command::GeCatalog)
}

fn ge_install(a: &mut Args) -> Built {
    Ok(Command::GeInstall {
        ge: a.one("ge")?,
        scope: a.scope()?,
        version: a.opt("version")?,
        replicas: a.opt("replicas")?,
        expose_nodeport: a.opt::<String>("expose")?.is_some(),
        params: a.take_ge_params(),
    })
}

fn ge_upgrade(a: &mut Args) -> Built {
    Ok(Command::GeUpgrade {
        ge: a.one("ge")?,
        scope: a.scope()?,
        version: a.one("version")?,
    })
}

fn ge_scale(a: &mut Args) -> Built {
    Ok(Command::GeScale {
        ge: a.one("ge")?,
        scope: a.scope()?,
        replicas: a.one("replicas")?,
    })
}

fn ge_autoscale(a: &mut Args) -> Built {
    let ge = a.one("ge")?;
    let scope = a.scope()?;
    let setting = if a.flag("off") {
        None
    } else {
        Some(crate::store::Autoscale {
            min: a.one("min")?,
            max: a.one("max")?,
            cpu: a.one("cpu")?,
        })
    };
    Ok(Command::GeAutoscale { ge, scope, setting })
}

fn ge_status(a: &mut Args) -> Built {
    Ok(Command::GeStatus {
        ge: a.one("ge")?,
        scope: a.scope()?,
    })
}

fn ge_list(a: &mut Args) -> Built {
    Ok(Command::GeList { scope: a.scope()? })
}

fn ge_history(a: &mut Args) -> Built {
    Ok(Command::GeHistory {
        ge: a.one("ge")?,
        scope: a.scope()?,
    })
}

fn ge_uninstall(a: &mut Args) -> Built {
    let purge = a.flag("purge");
    Ok(Command::GeUninstall {
        ge: a.one("ge")?,
        scope: a.scope()?,
        purge,
    })
}

fn rollback(a: &mut Args) -> Built {
    Ok(Command::Rollback {
        ge: a.one("ge")?,
        scope: a.scope()?,
        to: a.opt("to")?,
    })
}
