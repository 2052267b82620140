# The meaning and default of every function variable is in shared/config/env.ts; the variables
# below feed them, and a test (terraform.test.ts) holds the functions to functions/gcp/manifest.ts.

variable "project_id" {
  description = "Project that runs the functions and holds Firestore (normally the listing project)."
  type        = string
}

variable "region" {
  description = "Region of the functions, the source bucket and the Cloud Scheduler job."
  type        = string
  default     = "us-central1"
}

variable "name_prefix" {
  description = "Prefix of every resource name, so that several deployments can share a project."
  type        = string
  default     = "mc"

  validation {
    # Service account ids are 6-30 characters: "<prefix>-usage-report" must fit.
    condition     = can(regex("^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$", var.name_prefix))
    error_message = "name_prefix: 1-12 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "provider_id" {
  description = "Partner Procurement provider id (GCP_PROVIDER_ID); `DEMO-<project>` in the codelab."
  type        = string

  validation {
    condition     = length(trimspace(var.provider_id)) > 0
    error_message = "provider_id is required."
  }
}

variable "marketplace_topic" {
  description = "Google's marketplace topic; null derives projects/cloudcommerceproc-prod/topics/<project_id>."
  type        = string
  default     = null

  validation {
    condition     = var.marketplace_topic == null || can(regex("^projects/[^/]+/topics/[^/]+$", var.marketplace_topic))
    error_message = "marketplace_topic must look like projects/<project>/topics/<topic>."
  }
}

variable "subscriber_service_account" {
  description = "Email of the service account linked in Producer Portal to subscribe to the topic; null uses your own credentials."
  type        = string
  default     = null
}

variable "product_domains" {
  description = "Product domains a signup JWT `aud` may name (PRODUCT_DOMAINS)."
  type        = list(string)

  validation {
    condition     = length(var.product_domains) > 0 && alltrue([for d in var.product_domains : length(trimspace(d)) > 0 && !strcontains(d, ",")])
    error_message = "product_domains: at least one domain, none empty or holding a comma."
  }
}

variable "approval_policy" {
  description = "How purchases and plan changes are approved: auto, plans (only approval_plans) or manual."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "plans", "manual"], var.approval_policy)
    error_message = "approval_policy must be auto, plans or manual."
  }
}

variable "approval_plans" {
  description = "Plans approved under approval_policy = \"plans\" (APPROVAL_PLANS)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.approval_plans : length(trimspace(p)) > 0 && !strcontains(p, ",")])
    error_message = "approval_plans: no empty plan, no plan holding a comma."
  }
}

variable "signup_message" {
  description = "Shown to a buyer whose purchase waits for signup (SIGNUP_MESSAGE); empty keeps the code's default."
  type        = string
  default     = ""
}

variable "onboarding_url" {
  description = "Your app page a signed-up buyer is sent to with a handoff token (ONBOARDING_URL)."
  type        = string

  validation {
    condition     = can(regex("^https://", var.onboarding_url))
    error_message = "onboarding_url must be an https:// URL."
  }
}

variable "handoff_secret_id" {
  description = "Secret Manager secret id (in project_id) holding HANDOFF_SECRET; create it before applying."
  type        = string

  validation {
    # An id, not a value: the secret itself must never pass through Terraform state.
    condition     = can(regex("^[A-Za-z0-9_-]{1,255}$", var.handoff_secret_id))
    error_message = "handoff_secret_id is the secret's id (letters, digits, - and _), not its value or full name."
  }
}

variable "handoff_secret_version" {
  description = "Version of the handoff secret the signup function reads; a number pins it."
  type        = string
  default     = "latest"
}

variable "handoff_ttl_seconds" {
  description = "How long a handoff token is valid (HANDOFF_TTL_SECONDS)."
  type        = number
  default     = 300

  validation {
    condition     = var.handoff_ttl_seconds >= 10 && var.handoff_ttl_seconds <= 3600 && floor(var.handoff_ttl_seconds) == var.handoff_ttl_seconds
    error_message = "handoff_ttl_seconds must be a whole number from 10 to 3600."
  }
}

variable "usage_service_name" {
  description = "Service Control service name of the listing (USAGE_SERVICE_NAME), as shown in Producer Portal."
  type        = string

  validation {
    condition     = length(trimspace(var.usage_service_name)) > 0
    error_message = "usage_service_name is required."
  }
}

variable "usage_metrics" {
  description = "Plan → dimension → metric name (USAGE_METRICS), e.g. { pro = { requests = \"example.com/pro_requests\" } }."
  type        = map(map(string))
}

variable "firestore_database_id" {
  description = "Firestore database id (FIRESTORE_DATABASE_ID)."
  type        = string
  default     = "(default)"
}

variable "firestore_location" {
  description = "Firestore location (a region or a multi-region such as nam5); null uses region."
  type        = string
  default     = null
}

variable "event_retention_days" {
  description = "Days inbound messages are kept for dedupe and audit (EVENT_RETENTION_DAYS)."
  type        = number
  default     = 365

  validation {
    condition     = var.event_retention_days >= 1 && var.event_retention_days <= 3650 && floor(var.event_retention_days) == var.event_retention_days
    error_message = "event_retention_days must be a whole number from 1 to 3650."
  }
}

variable "log_level" {
  description = "Lowest level logged (LOG_LEVEL)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "dist_dir" {
  description = "Folder holding the bundles of `npm run build:gcp` (<dist_dir>/<function>/); null is the repository's dist/gcp."
  type        = string
  default     = null
}

variable "source_bucket_name" {
  description = "Bucket created for the zipped function sources; null is <project_id>-<name_prefix>-function-sources."
  type        = string
  default     = null
}

variable "grant_procurement_roles" {
  description = "Grant the functions a custom role with the Procurement permissions they call (see README)."
  type        = bool
  default     = true
}

variable "webhook_urls" {
  description = "URLs of your app that receive the vendor events, signed (WEBHOOK_URLS); empty: events wait in the outbox, readable through the vendor API."
  type        = list(string)
  default     = []

  validation {
    # No user name or password before the host: fetch refuses them, and they would be logged.
    condition     = alltrue([for url in var.webhook_urls : can(regex("^https://[^/@,\\s]+(/[^,\\s]*)?$", url))])
    error_message = "webhook_urls: https:// URLs without a user name or password, none holding a comma or a space."
  }

  validation {
    condition     = length(distinct(var.webhook_urls)) == length(var.webhook_urls)
    error_message = "webhook_urls lists a URL twice."
  }
}

variable "webhook_secret_id" {
  description = "Secret Manager secret id (in project_id) holding WEBHOOK_SECRETS, comma-separated if rotating; needed once webhook_urls is set."
  type        = string
  default     = null

  validation {
    condition     = var.webhook_secret_id == null || can(regex("^[A-Za-z0-9_-]{1,255}$", var.webhook_secret_id))
    error_message = "webhook_secret_id is the secret's id (letters, digits, - and _), not its value or full name."
  }
}

variable "webhook_secret_version" {
  description = "Version of the webhook secret the functions read; a number pins it."
  type        = string
  default     = "latest"
}

variable "webhook_timeout_seconds" {
  description = "How long one webhook delivery may take (WEBHOOK_TIMEOUT_SECONDS)."
  type        = number
  default     = 10

  validation {
    # The webhooks function's own timeout must leave room for a delivery.
    condition     = var.webhook_timeout_seconds >= 1 && var.webhook_timeout_seconds <= 60 && floor(var.webhook_timeout_seconds) == var.webhook_timeout_seconds
    error_message = "webhook_timeout_seconds must be a whole number from 1 to 60."
  }
}

variable "webhook_retry_horizon_hours" {
  description = "How long an undelivered event is retried before it is marked failed (WEBHOOK_RETRY_HORIZON_HOURS)."
  type        = number
  default     = 72

  validation {
    condition     = var.webhook_retry_horizon_hours >= 1 && var.webhook_retry_horizon_hours <= 720 && floor(var.webhook_retry_horizon_hours) == var.webhook_retry_horizon_hours
    error_message = "webhook_retry_horizon_hours must be a whole number from 1 to 720."
  }
}

variable "vendor_api_keys" {
  description = "Keys of the vendor API as <key id>:<scope>[+<scope>]:<SHA-256 hex of the key> (VENDOR_API_KEYS); `npm run api-key` makes one. Hashes only: not secret."
  type        = list(string)

  validation {
    condition = length(var.vendor_api_keys) > 0 && alltrue([
      for key in var.vendor_api_keys : can(regex("^[A-Za-z0-9][A-Za-z0-9.-]{0,63}:(read|usage:write|admin)(\\+(read|usage:write|admin))*:[0-9a-fA-F]{64}$", key))
    ])
    error_message = "vendor_api_keys: at least one, each <key id>:<scopes>:<64 hex digits> with scopes read, usage:write or admin joined by +. A key itself does not belong here, only its hash."
  }

  validation {
    condition     = length(distinct([for key in var.vendor_api_keys : split(":", key)[0]])) == length(var.vendor_api_keys)
    error_message = "vendor_api_keys lists a key id twice."
  }
}

variable "max_request_bytes" {
  description = "Largest request body the vendor API reads (MAX_REQUEST_BYTES); larger ones get 413."
  type        = number
  default     = 1048576

  validation {
    # Cloud Run refuses HTTP/1 requests over 32 MiB before the function sees them.
    condition     = var.max_request_bytes >= 1024 && var.max_request_bytes <= 33554432 && floor(var.max_request_bytes) == var.max_request_bytes
    error_message = "max_request_bytes must be a whole number from 1024 to 33554432 (32 MiB)."
  }
}

variable "personal_data_retention_days" {
  description = "Days an ended purchase keeps its personal data before the daily purge (PERSONAL_DATA_RETENTION_DAYS)."
  type        = number
  default     = 30

  validation {
    condition     = var.personal_data_retention_days >= 0 && var.personal_data_retention_days <= 3650 && floor(var.personal_data_retention_days) == var.personal_data_retention_days
    error_message = "personal_data_retention_days must be a whole number from 0 to 3650."
  }
}
