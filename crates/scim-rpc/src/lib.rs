//! Generated gRPC code for the platform's internal and admin APIs.

pub mod directory {
    tonic::include_proto!("scim.directory.v1");
}

pub mod account {
    tonic::include_proto!("scim.account.v1");
}

pub mod license {
    tonic::include_proto!("scim.license.v1");
}

pub mod audit {
    tonic::include_proto!("scim.audit.v1");
}

pub mod quarantine {
    tonic::include_proto!("scim.quarantine.v1");
}
