// What the test files share: the console's address (set by global-setup.js) and the account the wizard creates.
module.exports = {
  ADMIN: () => process.env.ADMIN_URL,
  ADMIN_PASSWORD: 'Tulip-Harbour-Quietly-42',
};
