output "function_urls" {
  description = "URL of each function, by manifest name."
  value       = { for key, fn in google_cloudfunctions2_function.fn : key => fn.url }
}

output "signup_url" {
  description = "Paste into Producer Portal → Technical integration → Frontend integration → Sign up URL."
  value       = google_cloudfunctions2_function.fn["signup"].url
}

output "vendor_api_url" {
  description = "Base URL of the vendor API: your app calls <url>/v1/... with one of its API keys."
  value       = google_cloudfunctions2_function.fn["vendor-api"].url
}

output "service_accounts" {
  description = "Email of every service account this deployment runs as."
  value = merge(
    { for key, sa in google_service_account.function : key => sa.email },
    {
      push      = google_service_account.push.email
      scheduler = google_service_account.scheduler.email
      build     = google_service_account.build.email
    },
  )
}

output "producer_portal_service_accounts" {
  description = "Accounts to link in Producer Portal → Technical integration → Billing integration."
  value = {
    # "Link a service account to call Procurement API"
    procurement_api = [
      google_service_account.function["events"].email,
      google_service_account.function["signup"].email,
    ]
    # "Link a service account to subscribe to Pub/Sub topic" (null: whoever applied Terraform)
    pubsub = var.subscriber_service_account
    # "Add service account to roles/servicemanagement.serviceController"
    service_control = google_service_account.function["usage-report"].email
  }
}

output "marketplace_subscription" {
  description = "The push subscription on Google's marketplace topic."
  value       = google_pubsub_subscription.marketplace.id
}

output "dead_letter_subscription" {
  description = "Where undeliverable marketplace messages are kept for 31 days."
  value       = google_pubsub_subscription.dead_letter.id
}

output "firestore_database" {
  description = "The store's Firestore database."
  value       = google_firestore_database.this.name
}
