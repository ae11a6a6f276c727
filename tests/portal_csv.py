"""The Azure portal's Advisor CSV export headers, written out here as the portal writes them
(variants seen in real exports, see docs/architecture.md), independently of the parser under test."""

HEADER_2025 = [
    "Category",
    "Business Impact",
    "Recommendation",
    "Subscription ID",
    "Subscription Name",
    "Resource Group",
    "Resource Name",
    "Type",
    "Updated Date",
    "Potential benefits",
    "Potential Annual Cost Savings",
    "Potential Cost Savings Currency",
    "Potential carbon reductions",
    "Cost implications (Preview)",
    "Description of changes",
    "Retirement date",
    "Retiring feature",
]
# The per-category export (13 columns) leaves these out.
NOT_PER_CATEGORY = {
    "Category",
    "Potential Annual Cost Savings",
    "Potential Cost Savings Currency",
    "Potential carbon reductions",
}
HEADER_PER_CATEGORY = [h for h in HEADER_2025 if h not in NOT_PER_CATEGORY]
