"""The demo company's knowledge base: (slug, title, tags, Markdown body). Written for Northwind Goods."""

ARTICLES: list[tuple[str, str, list[str], str]] = [
    (
        "shipping-times",
        "Shipping times and carriers",
        ["shipping", "orders"],
        """# Shipping times and carriers

## How long delivery takes
Standard shipping takes 3–5 business days in the contiguous US and 5–9 business days to Alaska, Hawaii and
Canada. Express shipping takes 1–2 business days when the order is placed before 2 pm Eastern.

## Carriers
We ship with UPS, FedEx, DHL and USPS, chosen by destination. The carrier and tracking number appear in your
shipping confirmation email and under **Account > Orders** as soon as the parcel leaves our warehouse.
""",
    ),
    (
        "late-delivery",
        "My order is late",
        ["shipping", "orders", "delay"],
        """# My order is late

Most late parcels arrive within two business days of the estimated date. Check the tracking link under
**Account > Orders** first: a status of *exception* usually means the carrier needs a better address or a
signature.

## When we reship or refund
If your parcel is more than 5 business days past its estimated delivery date, contact us: we reship the order
at no cost or refund it in full, whichever you prefer. You do not need to wait for the carrier's investigation.
""",
    ),
    (
        "returns-policy",
        "Returns and refunds policy",
        ["returns", "refunds"],
        """# Returns and refunds policy

You can return any item within **30 days** of delivery for a full refund, as long as it is unused and in its
original packaging. Worn footwear and opened consumables cannot be returned unless they are faulty.

## How to start a return
Go to **Account > Orders**, choose the order and select **Return items**. Print the prepaid label; drop the
parcel at any UPS location. Returns are free for Plus and Pro subscribers and cost $6.95 otherwise.

## When the money arrives
Refunds go back to the original payment method within 5 business days after the return reaches our
warehouse. Your bank may take a few more days to show it.
""",
    ),
    (
        "download-invoice",
        "Downloading an invoice or receipt",
        ["billing", "invoices"],
        """# Downloading an invoice or receipt

Every order and every subscription payment has an invoice. Open **Account > Billing > Invoices** and select
**Download PDF** beside the payment. Invoices show our VAT number and your billing address; to change the
address on a past invoice, update it under **Account > Billing details** and download the invoice again.
""",
    ),
    (
        "failed-payment",
        "Why did my payment fail?",
        ["billing", "payments"],
        """# Why did my payment fail?

Payments usually fail because the card expired, the billing address does not match the card, or the bank
flagged the charge. Update your card under **Account > Billing > Payment methods**; we retry a failed
subscription payment automatically after 1, 3 and 7 days. Your subscription stays active during the retries.
If all retries fail the subscription pauses; it resumes as soon as a payment succeeds.
""",
    ),
    (
        "plans-and-pricing",
        "Subscription plans and pricing",
        ["pricing", "plans", "subscriptions"],
        """# Subscription plans and pricing

| Plan | Monthly | Yearly | What you get |
|---|---|---|---|
| Basic | $4.99 | $49 | Member prices, standard shipping |
| Plus | $14.99 | $149 | Free express shipping, free returns |
| Pro | $29.99 | $299 | Everything in Plus, gear repairs and a yearly gear check |

Yearly plans cost about two months less than paying monthly. Prices include sales tax where it applies.
""",
    ),
    (
        "change-plan",
        "Changing your plan",
        ["plans", "subscriptions"],
        """# Changing your plan

Open **Account > Subscription** and select **Change plan**. An upgrade starts at once and you pay the
difference for the rest of the billing period. A downgrade starts at the next renewal date, so you keep your
current benefits until then. Switching between monthly and yearly billing works the same way.
""",
    ),
    (
        "cancel-subscription",
        "Cancelling your subscription",
        ["subscriptions", "cancellation"],
        """# Cancelling your subscription

You can cancel at any time under **Account > Subscription > Cancel**. Monthly plans stay active until the end
of the month you paid for; yearly plans can be refunded pro rata within the first 30 days. Your order history
and invoices stay available after cancelling, and you can resubscribe whenever you like.
""",
    ),
    (
        "reset-password",
        "Resetting your password",
        ["account", "password"],
        """# Resetting your password

Select **Sign in > Forgot password** and enter the email address of your account. The reset link arrives
within a few minutes and works for one hour. Check your spam folder if it does not arrive. For security we
never ask for your password in chat or by email.
""",
    ),
    (
        "account-locked",
        "My account is locked",
        ["account", "security"],
        """# My account is locked

After 5 wrong passwords in a row we lock the account for 30 minutes to protect it. Wait 30 minutes, then
reset your password with **Forgot password**. If you did not try to sign in yourself, reset your password
straight away and contact us so we can check recent activity on the account.
""",
    ),
    (
        "update-details",
        "Updating your email, address or phone number",
        ["account", "profile"],
        """# Updating your email, address or phone number

Open **Account > Profile** to change your name, phone number and delivery addresses. To change the email
address you sign in with, enter the new address and confirm the link we send to it. Orders already shipped
keep the address they were shipped to.
""",
    ),
    (
        "app-troubleshooting",
        "The app or website is not working",
        ["technical", "app"],
        """# The app or website is not working

1. Update the Northwind app to the latest version, or refresh the website.
2. Sign out and back in.
3. Clear the browser cache, or reinstall the app.
4. Check our status page for outages.

If checkout fails with an error, your card has not been charged; try again in a few minutes. Tell us the
error message and your device if the problem continues.
""",
    ),
    (
        "warranty-repairs",
        "Warranty and repairs",
        ["products", "warranty"],
        """# Warranty and repairs

All Northwind gear has a 2-year warranty against manufacturing defects. Pro members also get free repairs of
wear and tear for backpacks, jackets and tents. Start a claim under **Account > Orders > Warranty claim** with a
photo of the problem; we reply within two business days.
""",
    ),
]
