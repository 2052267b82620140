# Service accounts and what they may do. Each function runs as its own account so that a flaw in
# one cannot use another's grants: only signup reads the handoff secret and approves accounts,
# only usage-report reports usage, only the events and signup functions call the Procurement API,
# and retention (which sends nothing anywhere) cannot read the webhook secret.

resource "google_service_account" "function" {
  for_each = local.function_names

  project      = var.project_id
  account_id   = each.value
  display_name = "marketplace-connector: runs the ${each.key} function"

  depends_on = [google_project_service.apis]
}

# The identity Pub/Sub signs its pushes as (PUSH_SERVICE_ACCOUNT); it can do nothing else.
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "marketplace-connector: Pub/Sub push identity"

  depends_on = [google_project_service.apis]
}

# The identity Cloud Scheduler signs as (SCHEDULER_SERVICE_ACCOUNT); it can do nothing else.
resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-scheduler"
  display_name = "marketplace-connector: Cloud Scheduler identity"

  depends_on = [google_project_service.apis]
}

# Every function reads and writes the store. roles/datastore.user is the narrowest predefined
# role with document read/write and transactions (and no index or database administration).
resource "google_project_iam_member" "function_firestore" {
  for_each = local.function_names

  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Procurement permissions. There is no predefined role for the provider side of the Partner
# Procurement API (Google's roles/consumerprocurement.* are for buyers), so one custom role per
# calling function lists exactly the permissions the API reference names for the calls it makes.
# Only signup approves accounts: that is the step a verified signup must come before. Google also
# requires these accounts to be linked in Producer Portal ("Link a service account to call
# Procurement API"); the link is what grants access on your provider, see README.md.
locals {
  procurement_entitlement_permissions = [
    "commerceprocurement.providerEntitlements.get",
    "commerceprocurement.providerEntitlements.list",
    # Also covers approvePlanChange, per the API reference.
    "commerceprocurement.providerEntitlements.approve",
    # Also covers rejectPlanChange.
    "commerceprocurement.providerEntitlements.reject",
    # entitlements.patch: the messageToUser asking the buyer to finish signing up.
    "commerceprocurement.providerEntitlements.update",
  ]

  procurement_permissions = {
    "events" = concat(["commerceprocurement.providerAccounts.get"], local.procurement_entitlement_permissions)
    "signup" = concat(["commerceprocurement.providerAccounts.get", "commerceprocurement.providerAccounts.approve"], local.procurement_entitlement_permissions)
  }
}

resource "google_project_iam_custom_role" "procurement" {
  for_each = var.grant_procurement_roles ? local.procurement_permissions : {}

  project     = var.project_id
  role_id     = "${replace(var.name_prefix, "-", "_")}_procurement_${each.key}"
  title       = "marketplace-connector Procurement (${each.key})"
  description = "The Partner Procurement API calls of the ${each.key} function."
  permissions = each.value
}

resource "google_project_iam_member" "procurement" {
  for_each = var.grant_procurement_roles ? local.procurement_permissions : {}

  project = var.project_id
  role    = google_project_iam_custom_role.procurement[each.key].name
  member  = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Only signup reads the handoff secret, and only this one secret.
resource "google_secret_manager_secret_iam_member" "handoff" {
  project   = var.project_id
  secret_id = var.handoff_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function["signup"].email}"

  depends_on = [google_project_service.apis]
}

# The webhook secret, when there is one, is read by the functions that sign webhooks: those that
# write (each tries to deliver what it wrote at once) and the webhooks function.
resource "google_secret_manager_secret_iam_member" "webhook" {
  for_each = toset(local.webhook_secret_readers)

  project   = var.project_id
  secret_id = var.webhook_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.key].email}"

  depends_on = [google_project_service.apis]
}

# services.check and services.report on the listing's service only (not the whole project).
resource "google_endpoints_service_iam_member" "usage_report" {
  service_name = var.usage_service_name
  role         = "roles/servicemanagement.serviceController"
  member       = "serviceAccount:${google_service_account.function["usage-report"].email}"

  depends_on = [google_project_service.apis]
}
