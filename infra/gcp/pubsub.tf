# Marketplace notifications. Google publishes them to a topic in its own project
# (cloudcommerceproc-prod), and Eventarc cannot trigger a function from another project's topic,
# so a push subscription in this project delivers them to the events function over HTTPS, signed
# with an OIDC token the function verifies (PUSH_AUDIENCE, PUSH_SERVICE_ACCOUNT).

locals {
  marketplace_subscription_name = "${var.name_prefix}-marketplace-events"
  # The events function acks with 2xx and asks for a retry with 5xx; a message still failing after
  # this many deliveries (about two hours with the backoff below) is parked in the dead-letter
  # topic instead of blocking the subscription forever.
  max_delivery_attempts = 20
}

resource "google_pubsub_topic" "dead_letter" {
  project = var.project_id
  name    = "${var.name_prefix}-marketplace-dead-letter"

  depends_on = [google_project_service.apis]
}

# Keeps the dead letters: a topic without a subscription drops what is published to it.
# Inspect them with `gcloud pubsub subscriptions pull`, replay them by publishing the data again.
resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = "${var.name_prefix}-marketplace-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = "2678400s" # 31 days, the longest Pub/Sub keeps a message

  # Dead letters are rare; an idle subscription must not expire (the default is 31 days).
  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription" "marketplace" {
  provider = google.marketplace_subscriber

  project = var.project_id
  name    = local.marketplace_subscription_name
  topic   = local.marketplace_topic

  # Matches the events function's timeout: a push is answered (ack or nack) within it.
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s" # 7 days

  push_config {
    push_endpoint = local.function_urls["events"]

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = local.function_urls["events"]
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.max_delivery_attempts
  }

  # Weeks without a purchase must not delete the subscription (the default expiry is 31 days idle).
  expiration_policy {
    ttl = ""
  }

  # Deliver only once the function exists and accepts the push identity, so no early message is
  # answered with 404/403 and counted towards the dead-letter limit.
  depends_on = [
    google_cloudfunctions2_function.fn,
    google_cloud_run_v2_service_iam_member.events_invoker,
    google_service_account_iam_member.push_token_creator,
    google_service_account_iam_member.subscriber_acts_as_push,
    google_project_iam_member.subscriber_pubsub_editor,
    google_pubsub_topic_iam_member.dead_letter_publisher,
  ]
}

# Pub/Sub's service agent mints the OIDC tokens it signs pushes with, as the push account.
resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent

  depends_on = [google_project_service.apis]
}

# Dead-lettering: the service agent forwards an undeliverable message to the dead-letter topic
# and acks it on the source subscription, so it needs both grants.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.marketplace.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# The account linked in Producer Portal creates and updates the subscription in this project
# (Google's setup asks for Pub/Sub Editor) and must be allowed to name the push account in it.
resource "google_project_iam_member" "subscriber_pubsub_editor" {
  count = var.subscriber_service_account == null ? 0 : 1

  project = var.project_id
  role    = "roles/pubsub.editor"
  member  = "serviceAccount:${var.subscriber_service_account}"
}

resource "google_service_account_iam_member" "subscriber_acts_as_push" {
  count = var.subscriber_service_account == null ? 0 : 1

  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${var.subscriber_service_account}"
}
