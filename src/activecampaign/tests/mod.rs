//! Tests of the client against a mock ActiveCampaign server.
